package io.strawless.pipeline.assembly;

import io.strawless.schemas.OffsetRange;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The Kafka offsets an open trajectory's inputs came from: for each topic partition, the first and the last.
 *
 * <p>Parallel arrays inside {@link AssemblyProgress}, which the assembler rewrites on every input anyway: a
 * trajectory's records are keyed by its id, so it reads one partition per topic and has one to three entries,
 * and Flink writes them with its primitive-array serializers. A map state of Avro records cost two state
 * accesses and a string key per input, and an Avro-encoded record per entry at every checkpoint. Never
 * changed in place (the heap state backend may be writing the previous value to a checkpoint): every change
 * makes new arrays.
 */
public record InputLineage(String[] topics, int[] partitions, long[] firstOffsets, long[] lastOffsets) {

    public static final InputLineage NONE = new InputLineage(new String[0], new int[0], new long[0], new long[0]);

    /** This lineage with {@code offset} of {@code topic}/{@code partition} included. */
    InputLineage with(String topic, int partition, long offset) {
        for (int i = 0; i < topics.length; i++) {
            if (partitions[i] == partition && topics[i].equals(topic)) {
                if (firstOffsets[i] <= offset && offset <= lastOffsets[i]) {
                    return this;
                }
                long[] first = firstOffsets.clone();
                long[] last = lastOffsets.clone();
                first[i] = Math.min(first[i], offset);
                last[i] = Math.max(last[i], offset);
                return new InputLineage(topics, partitions, first, last);
            }
        }
        int n = topics.length;
        String[] newTopics = Arrays.copyOf(topics, n + 1);
        int[] newPartitions = Arrays.copyOf(partitions, n + 1);
        long[] first = Arrays.copyOf(firstOffsets, n + 1);
        long[] last = Arrays.copyOf(lastOffsets, n + 1);
        newTopics[n] = topic;
        newPartitions[n] = partition;
        first[n] = offset;
        last[n] = offset;
        return new InputLineage(newTopics, newPartitions, first, last);
    }

    /** One offset range per topic partition, in the order they were first seen. */
    List<OffsetRange> ranges() {
        List<OffsetRange> ranges = new ArrayList<>(topics.length);
        for (int i = 0; i < topics.length; i++) {
            ranges.add(new OffsetRange(topics[i], partitions[i], firstOffsets[i], lastOffsets[i]));
        }
        return ranges;
    }
}
