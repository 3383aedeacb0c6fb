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
    private final Receipt receipt;

    Delivery(TrainingBatch batch, TopicPartition partition, long offset) {
        this.batch = batch;
        this.partition = partition;
        this.receipt = new Receipt(offset);
    }

    /**
     * What the subscriber keeps of a delivery until it may commit past it: the offset and whether it was used, not
     * the batch. Behind one batch never acknowledged, the subscriber keeps every later one's receipt; holding the
     * batches instead would keep every batch read since in memory.
     */
    static final class Receipt {
        final long offset;
        // Set by the trainer, possibly from another thread; read by the subscriber's polling thread.
        private volatile boolean acknowledged;

        private Receipt(long offset) {
            this.offset = offset;
        }

        boolean acknowledged() {
            return acknowledged;
        }
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
        return receipt.offset;
    }

    Receipt receipt() {
        return receipt;
    }

    /**
     * Marks the batch as used. Idempotent and callable from any thread; the offset is committed on the
     * subscriber's next {@link BatchSubscriber#poll} or {@link BatchSubscriber#close}.
     */
    public void ack() {
        receipt.acknowledged = true;
    }

    @Override
    public String toString() {
        return "Delivery{" + partition + "@" + receipt.offset + ", batch " + batch.getBatchId()
                + (receipt.acknowledged() ? ", acked}" : "}");
    }
}
