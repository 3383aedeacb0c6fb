package io.strawless.ops.bench;

import io.strawless.connectors.KafkaOptions;
import io.strawless.ops.fleet.FleetRecord;
import io.strawless.ops.fleet.FleetScript;
import io.strawless.ops.fleet.FleetSettings;
import io.strawless.ops.fleet.InputTopic;
import io.strawless.ops.fleet.SyntheticFleet;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.VerifierSignal;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.kafka.common.TopicPartition;

/**
 * State bytes per open trajectory, measured on the running job: a savepoint before and after it has read
 * {@code n} trajectories whose outcome never comes (they stay open, with their steps, verdicts, lineage,
 * progress and timer), the difference divided by {@code n}. A savepoint in canonical format holds the state as
 * a full checkpoint does.
 */
final class OpenTrajectoryState {

    /**
     * Their ids, and their groups' ids, are renamed so that they cannot meet the latency phase's trajectories and
     * groups, which the same fleet makes (an open member that timed out could otherwise count in a live group).
     */
    private static final String ID_PREFIX = "open-";

    private OpenTrajectoryState() {}

    static double bytesPerTrajectory(
            JobRun job,
            Configuration conf,
            FleetSettings fleet,
            List<TopicPartition> inputs,
            BenchKafka kafka,
            Path savepoints,
            Progress progress)
            throws Exception {
        long before = job.savepointBytes(savepoints.resolve("before"));
        FleetScript script = FleetScript.generate(fleet, Instant.now());
        List<FleetRecord> renamed = new ArrayList<>(script.records().size());
        for (FleetRecord record : script.records()) {
            if (record.topic() == InputTopic.OUTCOMES) {
                throw new IllegalArgumentException(
                        "open trajectories must have no outcome: set missing-outcome-share to 1");
            }
            renamed.add(renamed(record));
        }
        new SyntheticFleet(conf).send(new FleetScript(renamed, script.ledger()));
        Map<TopicPartition, Long> ends = kafka.endOffsets(inputs);
        kafka.awaitCaughtUp(conf.get(KafkaOptions.GROUP_ID), ends, job::failIfEnded, progress, "open trajectories");
        long after = job.savepointBytes(savepoints.resolve("after"));
        return (after - before) / (double) fleet.trajectories();
    }

    private static FleetRecord renamed(FleetRecord record) {
        try {
            ByteBuffer value = ByteBuffer.wrap(record.value());
            ByteBuffer renamed;
            String id;
            if (record.topic() == InputTopic.STEPS) {
                StepEvent step = StepEvent.fromByteBuffer(value);
                id = ID_PREFIX + step.getTrajectoryId();
                step.setTrajectoryId(id);
                step.setGroupId(step.getGroupId() == null ? null : ID_PREFIX + step.getGroupId());
                renamed = step.toByteBuffer();
            } else {
                VerifierSignal verdict = VerifierSignal.fromByteBuffer(value);
                id = ID_PREFIX + verdict.getTrajectoryId();
                verdict.setTrajectoryId(id);
                renamed = verdict.toByteBuffer();
            }
            byte[] bytes = new byte[renamed.remaining()];
            renamed.get(bytes);
            return new FleetRecord(record.topic(), record.timestamp(), id.getBytes(StandardCharsets.UTF_8), bytes);
        } catch (IOException e) {
            throw new UncheckedIOException("re-encoding a generated record failed", e);
        }
    }
}
