package io.strawless.ops.fleet;

/** One record the fleet sends: where, with which Kafka timestamp (the event time), key and value bytes. */
public record FleetRecord(InputTopic topic, long timestamp, byte[] key, byte[] value) {}
