/**
 * ApiVersions (key 18), versions 0-3 (3 is flexible).
 *
 * Built from the handler registry, so it advertises exactly what is implemented. A request for a version
 * beyond 3 (kafka-python 2.1 sends v4, newer librdkafka v4) is answered in the v0 format with
 * UNSUPPORTED_VERSION and the full list (KIP-511); the client then retries with a version listed here.
 * The response header stays v0 in every version (handled by the connection).
 *
 *   ApiVersionsRequest v3 => client_software_name: COMPACT_STRING client_software_version: COMPACT_STRING TAG_BUFFER
 *   ApiVersionsResponse  => error_code: INT16 [api_key: INT16 min_version: INT16 max_version: INT16 (TAG_BUFFER v3)]
 *                           throttle_time_ms: INT32 (v1+) TAG_BUFFER (v3)
 */
import { ApiKey } from '../protocol/api-keys.js';
import type { ApiHandler } from './handler.js';

interface Request {
  clientSoftwareName?: string;
  clientSoftwareVersion?: string;
}

interface Response {
  errorCode: number;
  apiKeys: { apiKey: number; minVersion: number; maxVersion: number }[] | null;
}

export const apiVersionsHandler: ApiHandler<Request, Response> = {
  apiKey: ApiKey.ApiVersions,
  name: 'ApiVersions',
  minVersion: 0,
  maxVersion: 3,
  flexibleVersion: 3,

  decode(r, version) {
    if (version < 3) return {};
    const req = { clientSoftwareName: r.string(), clientSoftwareVersion: r.string() };
    r.tags();
    return req;
  },

  handle(_req, ctx) {
    return { errorCode: 0, apiKeys: ctx.cluster.registry.versions() };
  },

  encode(w, res, version) {
    w.int16(res.errorCode);
    w.array(res.apiKeys ?? [], (w, k) => {
      w.int16(k.apiKey).int16(k.minVersion).int16(k.maxVersion);
      w.tags();
    });
    if (version >= 1) w.int32(0);
    w.tags();
  },

  errorResponse(_req, errorCode) {
    return { errorCode, apiKeys: null };
  },
};
