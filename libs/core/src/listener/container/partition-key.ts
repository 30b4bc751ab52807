/** The key of one topic-partition in the container's maps and sets (a NUL cannot occur in a topic name). */
export const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;
