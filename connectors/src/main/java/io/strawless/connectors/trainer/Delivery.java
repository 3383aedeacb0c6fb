package io.strawless.connectors.trainer;

import io.strawless.schemas.TrainingBatch;
import org.apache.kafka.common.TopicPartition;

/**
 * One training batch handed to the trainer by {@link BatchSubscriber#poll}, and where it was read from.
 * Call {@link #ack()} once the batch has been used (trained on, or stored durably): only then may the
 * subscriber commit past it. Un-acknowledged batches are delivered again after a restart.
 */
public final class Delivery {

    private final TrainingBatch batch;
    private final TopicPartition partition;
    private final long offset;
    // Set by the trainer, possibly from another thread; read by the subscriber's polling thread.
    private volatile boolean acknowledged;

    Delivery(TrainingBatch batch, TopicPartition partition, long offset) {
        this.batch = batch;
        this.partition = partition;
        this.offset = offset;
    }

    public TrainingBatch batch() {
        return batch;
    }

    public String topic() {
        return partition.topic();
    }

    public int partition() {
        return partition.partition();
    }

    public long offset() {
        return offset;
    }

    /**
     * Marks the batch as used. Idempotent and callable from any thread; the offset is committed on the
     * subscriber's next {@link BatchSubscriber#poll} or {@link BatchSubscriber#close}.
     */
    public void ack() {
        acknowledged = true;
    }

    boolean acknowledged() {
        return acknowledged;
    }

    @Override
    public String toString() {
        return "Delivery{" + partition + "@" + offset + ", batch " + batch.getBatchId() + (acknowledged ? ", acked}" : "}");
    }
}
