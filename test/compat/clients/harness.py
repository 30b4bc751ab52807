"""What the compatibility test clients share: base64 for bytes, and running one operation from argv.

A client script defines its operations and calls run({'produce': produce, ...}): the JSON spec in argv[1]
names the operation in "op"; the result is printed as one JSON line. Any failure prints {"error": "..."}
(with the exception's type, for diagnosis) and exits 1.
"""
import base64
import json
import logging
import sys


def b64(data):
    return None if data is None else base64.b64encode(data).decode('ascii')


def unb64(text):
    return None if text is None else base64.b64decode(text)


def run(operations):
    spec = json.loads(sys.argv[1])
    if spec.get('debug'):
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    try:
        out = operations[spec['op']](spec)
    except Exception as err:  # reported to the test as JSON
        out = {'error': f'{type(err).__name__}: {err}'}
    print(json.dumps(out))
    sys.exit(1 if 'error' in out else 0)
