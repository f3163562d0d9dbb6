/**
 * Scale-out: detectors as a consumer group on a message broker (Redis Streams here), series
 * partitioned by FNV-1a of their id, exactly-once results. See docs/scale-out.md.
 */
export * from './connector.js';
export { StreamConsumer, type ConsumerStats, type StreamConsumerOptions } from './consumer.js';
export { RedisStreamsConnector, type RedisStreamsOptions } from './redis-streams.js';
export { RedisProducer, type ProducerEntry, type RedisProducerOptions } from './producer.js';
export { fnv1a32, partitionOf, partitionStream } from './partition.js';
export { decodeEntry, encodeEntry, parseResult, resultFields, type RawFields, type SeriesBatch, type WindowResult } from './wire.js';
export { decodeCheckpoint, encodeCheckpoint, type SeriesCheckpoint } from './checkpoint.js';
