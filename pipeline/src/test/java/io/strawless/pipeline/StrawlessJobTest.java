package io.strawless.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.serde.InputRecord;
import io.strawless.connectors.serde.InputRecordSerializer;
import io.strawless.pipeline.credit.CreditOptions;
import io.strawless.pipeline.credit.Estimator;
import io.strawless.pipeline.assembly.AssembledTrajectory;
import io.strawless.pipeline.grouping.TrajectoryGroup;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TerminalKind;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.api.common.eventtime.TimestampAssigner;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkGeneratorSupplier;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.util.clock.RelativeClock;
import org.apache.flink.util.clock.SystemClock;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.dag.Transformation;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.flink.streaming.api.graph.StreamNode;
import org.apache.flink.streaming.api.transformations.OneInputTransformation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

class StrawlessJobTest {

    private static StreamExecutionEnvironment env(Configuration conf) {
        return StreamExecutionEnvironment.getExecutionEnvironment(conf);
    }

    private static Configuration conf() {
        Configuration conf = new Configuration();
        conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofSeconds(1));
        // Kryo is slow and breaks state compatibility across upgrades: every type must have a real serializer.
        conf.set(PipelineOptions.GENERIC_TYPES, false);
        return conf;
    }

    @Test
    void everyTypeHasAFlinkSerializerAndEveryOperatorAStableUid() {
        StreamExecutionEnvironment env = env(conf());
        StrawlessJob.buildOnKafka(env, conf());

        StreamGraph graph = env.getStreamGraph(false);
        graph.getJobGraph(); // creates every serializer: fails on a type that would need Kryo

        List<Transformation<?>> transformations = env.getTransformations();
        for (Transformation<?> t : transformations) {
            assertTrue(t.getUid() != null && !t.getUid().isBlank(), "operator without uid: " + t.getName());
        }
        assertTrue(transformations.size() >= 5);
    }

    @Test
    void refusesToRunWithoutCheckpointsBecauseNothingWouldBeCommitted() {
        Configuration conf = new Configuration();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> StrawlessJob.buildOnKafka(env(conf), conf));
        assertTrue(e.getMessage().contains("execution.checkpointing.interval"), e.getMessage());
    }

    /** Refused when the job is built, not in the tasks' open(), where it would be a restart loop. */
    @Test
    void refusesQuarantineThresholdsWhenTheJobIsBuilt() {
        Configuration conf = conf();
        conf.setString("quarantine.min-good-share-on-failure", "0.5");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> StrawlessJob.buildOnKafka(env(conf), conf));
        assertTrue(e.getMessage().startsWith("quarantine.min-good-share-on-failure must be above 0.5"), e.getMessage());
    }

    @Test
    void refusesCheckpointsThatAreNotExactlyOnce() {
        Configuration conf = conf();
        conf.set(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE, CheckpointingMode.AT_LEAST_ONCE);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> StrawlessJob.buildOnKafka(env(conf), conf));
        assertTrue(e.getMessage().startsWith("execution.checkpointing.mode is AT_LEAST_ONCE: the job's output is"
                + " exactly once only with EXACTLY_ONCE checkpoints"), e.getMessage());
    }

    @Test
    void refusesATransactionTimeoutThatTwoCheckpointsCanOutlast() {
        Configuration conf = conf();
        conf.set(KafkaOptions.TRANSACTION_TIMEOUT, Duration.ofMinutes(10));
        conf.set(CheckpointingOptions.CHECKPOINTING_TIMEOUT, Duration.ofMinutes(5));
        conf.set(CheckpointingOptions.MIN_PAUSE_BETWEEN_CHECKPOINTS, Duration.ofSeconds(5));
        // Checkpoint N takes 5 min, N+1 starts 5 s later and takes 5 min: the transaction between them is open 10m5s.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> StrawlessJob.buildOnKafka(env(conf), conf));
        assertTrue(e.getMessage().startsWith("kafka.transaction-timeout (PT10M) must exceed the longest a transaction can"
                + " stay open, PT10M5S"), e.getMessage());

        conf.set(CheckpointingOptions.CHECKPOINTING_TIMEOUT, Duration.ofMinutes(4));
        StrawlessJob.buildOnKafka(env(conf), conf);

        conf.set(CheckpointingOptions.TOLERABLE_FAILURE_NUMBER, 1); // a tolerated failure adds one more turn
        assertThrows(IllegalArgumentException.class, () -> StrawlessJob.buildOnKafka(env(conf), conf));
    }

    /**
     * Dead letters written to an input topic would be read back and dead-lettered again without end; unscored records
     * on the batches topic would stop a trainer. The input topics may share one topic.
     */
    @Test
    void refusesAnOutputTopicThatIsAnotherOutputOrAnInputNamingBothKeys() {
        Configuration deadLettersOnSteps = conf();
        deadLettersOnSteps.set(KafkaOptions.DEAD_LETTERS_TOPIC, "agent.steps");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> StrawlessJob.checkSettings(deadLettersOnSteps));
        assertTrue(e.getMessage().startsWith("topics.dead-letters and topics.steps are both agent.steps: each output"
                + " topic must differ from the other output topics and from the input topics"), e.getMessage());

        Configuration unscoredOnBatches = conf();
        unscoredOnBatches.set(KafkaOptions.UNSCORED_TOPIC, "credit.batches");
        e = assertThrows(IllegalArgumentException.class, () -> StrawlessJob.checkSettings(unscoredOnBatches));
        assertTrue(e.getMessage().startsWith("topics.unscored and topics.batches are both credit.batches"),
                e.getMessage());

        Configuration oneInputTopic = conf();
        oneInputTopic.set(KafkaOptions.STEPS_TOPIC, "agent.events");
        oneInputTopic.set(KafkaOptions.OUTCOMES_TOPIC, "agent.events");
        oneInputTopic.set(KafkaOptions.VERDICTS_TOPIC, "agent.events");
        StrawlessJob.checkSettings(oneInputTopic);
    }

    /**
     * Kafka's producer refuses a record larger than its buffer.memory (RecordTooLargeException), and the producers'
     * max.request.size, 1024 bytes above kafka.max-record-bytes, is an int.
     */
    @Test
    void refusesARecordSizeTheProducersCannotSendNamingBothKeys() {
        Configuration beyondTheBuffer = conf();
        beyondTheBuffer.set(KafkaOptions.MAX_RECORD_BYTES, 64 * 1024 * 1024);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> StrawlessJob.checkSettings(beyondTheBuffer));
        assertEquals("kafka.max-record-bytes (67108864) + 1024 must not exceed the producers' buffer.memory, 33554432"
                + " (kafka.client.buffer.memory, Kafka's default where not set): Kafka's producer refuses a larger"
                + " record (RecordTooLargeException), and the job would restart without end; lower"
                + " kafka.max-record-bytes or raise kafka.client.buffer.memory", e.getMessage());

        beyondTheBuffer.setString("kafka.client.buffer.memory", Integer.toString(64 * 1024 * 1024 + 1024));
        StrawlessJob.checkSettings(beyondTheBuffer);
        beyondTheBuffer.setString("kafka.client.buffer.memory", Integer.toString(64 * 1024 * 1024 + 1023));
        assertThrows(IllegalArgumentException.class, () -> StrawlessJob.checkSettings(beyondTheBuffer));

        Configuration overflowing = conf();
        overflowing.set(KafkaOptions.MAX_RECORD_BYTES, Integer.MAX_VALUE);
        overflowing.setString("kafka.client.buffer.memory", Long.toString(Long.MAX_VALUE));
        e = assertThrows(IllegalArgumentException.class, () -> StrawlessJob.checkSettings(overflowing));
        assertTrue(e.getMessage().startsWith("kafka.max-record-bytes must be at most 2147482623, was 2147483647"),
                e.getMessage());
    }

    /** Flink refuses an idleness of 0 in words that name no key ("idleTimeout must be greater than zero"). */
    @Test
    void refusesASourceIdlenessOfZeroNamingTheKey() {
        Configuration conf = conf();
        conf.set(JobOptions.SOURCE_IDLENESS, Duration.ZERO);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> StrawlessJob.checkSettings(conf));
        assertTrue(e.getMessage().startsWith("job.source-idleness must be above 0, was 0 ms"), e.getMessage());
    }

    @Test
    void anUnsetCheckpointTimeoutIsChosenToFitTheTransactions() {
        Configuration conf = conf(); // Flink's default checkpoint timeout, 10 min, and the default transaction's, 15 min
        StreamExecutionEnvironment env = env(conf);
        StrawlessJob.buildOnKafka(env, conf);
        // The largest whole-second T with max(1 s, T) + T < 15 min less a minute for a restart.
        assertEquals(Duration.ofMinutes(6).plusSeconds(59).toMillis(), env.getCheckpointConfig().getCheckpointTimeout());

        // An interval that leaves no room for the minute's margin: fitted without it, as before the margin.
        Configuration longInterval = conf();
        longInterval.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofMinutes(14).plusSeconds(30));
        StreamExecutionEnvironment slow = env(longInterval);
        StrawlessJob.buildOnKafka(slow, longInterval);
        assertEquals(Duration.ofSeconds(29).toMillis(), slow.getCheckpointConfig().getCheckpointTimeout());

        conf.set(KafkaOptions.TRANSACTION_TIMEOUT, Duration.ofSeconds(1)); // nothing fits under the interval itself
        assertThrows(IllegalArgumentException.class, () -> StrawlessJob.buildOnKafka(env(conf), conf));
    }

    @Test
    void uidsAreTheDocumentedOnes() {
        StreamExecutionEnvironment env = env(conf());
        StrawlessJob.buildOnKafka(env, conf());
        List<String> uids = env.getTransformations().stream().map(Transformation::getUid).toList();
        for (String uid : List.of("validate", "assemble", "group", "score-and-batch", "stamp-batches", "stamp-dead-letters",
                "stamp-unscored", "sink-batches", "sink-dead-letters", "sink-unscored")) {
            assertTrue(uids.contains(uid), "missing uid " + uid + " in " + uids);
        }
        assertEquals(uids.size(), uids.stream().distinct().count(), "uids must be unique");
    }

    /**
     * Metric reporters label an operator's metrics with its name (Prometheus: {@code operator_name}), so each operator
     * is named after its uid, whatever the settings (the estimator was in a name once): a dashboard filters on the
     * uids ops/METRICS.md lists. The sinks' writer and committer are named by Flink after the sink.
     */
    @ParameterizedTest
    @EnumSource(value = Estimator.class, names = {"GRPO", "RLOO", "GAE"})
    void operatorsAreNamedAfterTheirUids(Estimator estimator) {
        Configuration conf = conf();
        conf.set(CreditOptions.ESTIMATOR, estimator);
        StreamExecutionEnvironment env = env(conf);
        StrawlessJob.buildOnKafka(env, conf);

        Set<Transformation<?>> all = new LinkedHashSet<>();
        env.getTransformations().forEach(t -> all.addAll(t.getTransitivePredecessors()));
        for (Transformation<?> t : all) {
            if (t.getUid() != null) {
                assertEquals(t.getUid(), t.getName(), "the name of the operator with uid " + t.getUid());
            }
        }
        // The names the operators' metrics carry: the stream graph's operator names, as ops/METRICS.md lists them.
        Set<String> operatorNames = env.getStreamGraph(false).getStreamNodes().stream()
                .map(StreamNode::getOperatorName)
                .collect(Collectors.toCollection(TreeSet::new));
        assertEquals(new TreeSet<>(List.of("Source: inputs", "validate", "assemble", "group", "score-and-batch",
                "stamp-batches", "stamp-dead-letters", "stamp-unscored",
                "sink-batches: Writer", "sink-batches: Committer",
                "sink-dead-letters: Writer", "sink-dead-letters: Committer",
                "sink-unscored: Writer", "sink-unscored: Committer")), operatorNames);
    }

    /** The string-keyed stages checkpoint their keys with StringKeys' serializer, not Flink's byte-at-a-time one. */
    @Test
    void stringKeyedStagesUseStringKeys() {
        Configuration conf = conf();
        StreamExecutionEnvironment env = env(conf);
        StrawlessJob.buildOnKafka(env, conf);

        Map<String, Class<?>> keySerializers = new TreeMap<>();
        for (StreamNode node : env.getStreamGraph(false).getStreamNodes()) {
            if (node.getStateKeySerializer() != null) {
                keySerializers.put(node.getOperatorName(), node.getStateKeySerializer().getClass());
            }
        }
        assertEquals(StringKeys.Serializer.class, keySerializers.get("assemble"));
        assertEquals(StringKeys.Serializer.class, keySerializers.get("group"));
    }

    /**
     * The score-and-batch stage is keyed by a batching bucket: every parallel instance must get one. The
     * keys 0 .. p-1 would put both buckets of parallelism 2 on the second instance (Flink routes a key by its
     * hash), and the first instance would score nothing.
     */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 8})
    void everyInstanceOfScoreAndBatchGetsTasksToScore(int parallelism) throws Exception {
        StreamExecutionEnvironment env = env(conf());
        env.setParallelism(parallelism);
        StrawlessJob.buildOnKafka(env, conf());
        @SuppressWarnings("unchecked")
        KeySelector<TrajectoryGroup, Integer> bucket = env.getTransformations().stream()
                .filter(t -> "score-and-batch".equals(t.getUid()))
                .map(t -> (KeySelector<TrajectoryGroup, Integer>) ((OneInputTransformation<?, ?>) t).getStateKeySelector())
                .findFirst().orElseThrow();

        int maxParallelism = KeyGroupRangeAssignment.computeDefaultMaxParallelism(parallelism);
        Map<Integer, Integer> tasksByInstance = new TreeMap<>();
        for (int task = 0; task < 1_000; task++) {
            AssembledTrajectory t = Events.trajectory("t" + task, "g" + task, 1, 1.0, 0);
            TrajectoryGroup group = new TrajectoryGroup(List.of(new AssembledTrajectory(t.trajectoryId(), t.agentId(),
                    "task-" + task, t.groupId(), t.groupSize(), t.steps(), t.outcome(), t.verdicts(), t.lineage())), 0);
            int instance = KeyGroupRangeAssignment.assignKeyToParallelOperator(bucket.getKey(group), maxParallelism, parallelism);
            tasksByInstance.merge(instance, 1, Integer::sum);
        }
        assertEquals(parallelism, tasksByInstance.size(), "tasks by instance: " + tasksByInstance);
        for (int tasks : tasksByInstance.values()) {
            assertTrue(tasks > 1_000 / parallelism / 2, "tasks by instance: " + tasksByInstance);
        }
    }

    /** The inputs of {@link #everyOutputIsStampedWithWhenItWasMadeNotWithTheEventTimeItCarries}, by index. */
    private static final List<InputRecord> OLD_INPUTS = new ArrayList<>();
    /** The Kafka timestamps the recording sinks were given, by sink. */
    private static final Map<String, List<Long>> STAMPS = new ConcurrentHashMap<>();

    /**
     * A replay of 2020's records: a dead letter, a trajectory whose outcome never comes (timed out when the
     * bounded input ends, by a timer fired early at 2020's event time plus the outcome timeout) and a scored
     * one. Each output must carry the time it was made: an event time from 2020 would be deleted at once by
     * the output topics' retention, and a timer's time may lie ahead of now.
     */
    @Test
    void everyOutputIsStampedWithWhenItWasMadeNotWithTheEventTimeItCarries() throws Exception {
        long t2020 = Instant.parse("2020-01-01T00:00:00Z").toEpochMilli();
        OLD_INPUTS.clear();
        OLD_INPUTS.add(Events.in(Events.step("", 0, t2020).build())); // no trajectory id: a dead letter
        OLD_INPUTS.add(Events.in(Events.step("open", 0, t2020).build()));
        OLD_INPUTS.add(Events.in(Events.step("open", 1, t2020 + 1).setTerminal(TerminalKind.TERMINATED).build()));
        OLD_INPUTS.add(Events.in(Events.step("done", 0, t2020 + 2).setTerminal(TerminalKind.TERMINATED).build()));
        OLD_INPUTS.add(InputRecord.ofOutcome("agent.outcomes", 0, 0, t2020 + 3, Events.outcome("done", 1.0, 0, t2020 + 3)));
        STAMPS.clear();
        long start = System.currentTimeMillis();

        Configuration conf = conf();
        conf.set(CreditOptions.BACKEND, CreditOptions.Backend.JAVA);
        StreamExecutionEnvironment env = env(conf);
        env.setParallelism(1);
        StrawlessJob.build(env, conf,
                new DataGeneratorSource<>(index -> OLD_INPUTS.get(index.intValue()), OLD_INPUTS.size(),
                        InputRecordSerializer.TYPE_INFO),
                new RecordingSink<>("batches"), new RecordingSink<>("dead letters"), new RecordingSink<>("unscored"));
        env.execute("stamps");

        for (String sink : List.of("batches", "dead letters", "unscored")) {
            List<Long> stamps = STAMPS.getOrDefault(sink, List.of());
            assertEquals(1, stamps.size(), sink + ": " + stamps);
            assertTrue(stamps.get(0) >= start && stamps.get(0) <= System.currentTimeMillis(),
                    sink + " stamped " + Instant.ofEpochMilli(stamps.get(0)) + ", not when it was made");
        }
    }

    /** Notes the timestamp of each record it is given, as the Kafka sinks take it. */
    private record RecordingSink<T>(String name) implements Sink<T> {
        @Override
        public SinkWriter<T> createWriter(WriterInitContext context) {
            return new SinkWriter<>() {
                @Override
                public void write(T element, Context context) {
                    STAMPS.computeIfAbsent(name, n -> new CopyOnWriteArrayList<>()).add(context.timestamp());
                }

                @Override
                public void flush(boolean endOfInput) {}

                @Override
                public void close() {}
            };
        }
    }

    @Test
    void inputsStampedAheadOfTheClockDoNotMoveTheWatermarkPastIt() {
        Configuration conf = conf();
        conf.set(JobOptions.MAX_FUTURE_EVENT_TIME, Duration.ofMinutes(10)); // longer than job.outcome-timeout, 5 min
        WatermarkStrategy<InputRecord> strategy = StrawlessJob.watermarks(conf);
        TimestampAssigner<InputRecord> assigner = strategy.createTimestampAssigner(null);
        WatermarkGeneratorSupplier.Context context = new WatermarkGeneratorSupplier.Context() {
            @Override
            public MetricGroup getMetricGroup() {
                return new UnregisteredMetricsGroup();
            }

            @Override
            public RelativeClock getInputActivityClock() {
                return SystemClock.getInstance();
            }
        };
        WatermarkGenerator<InputRecord> generator = strategy.createWatermarkGenerator(context);
        List<Long> watermarks = new ArrayList<>();
        WatermarkOutput output = new WatermarkOutput() {
            @Override
            public void emitWatermark(Watermark watermark) {
                watermarks.add(watermark.getTimestamp());
            }

            @Override
            public void markIdle() {}

            @Override
            public void markActive() {}
        };
        long start = System.currentTimeMillis();
        // An agent on a host 9 minutes fast: accepted (within job.max-future-event-time), and it keeps its event time.
        long skewed = start + Duration.ofMinutes(9).toMillis();
        InputRecord ahead = step(Instant.ofEpochMilli(skewed));
        assertEquals(skewed, assigner.extractTimestamp(ahead, skewed));
        generator.onEvent(ahead, skewed, output);
        generator.onPeriodicEmit(output);

        // Followed, the watermark would have timed out every trajectory waiting 5 minutes for its outcome.
        long outOfOrder = conf.get(JobOptions.MAX_OUT_OF_ORDERNESS).toMillis();
        assertTrue(watermarks.get(watermarks.size() - 1) <= System.currentTimeMillis() - outOfOrder,
                "watermark " + watermarks + " is ahead of the clock " + System.currentTimeMillis());
        assertTrue(watermarks.get(watermarks.size() - 1) >= start - outOfOrder - 1, "it still follows the clock");

        // Inputs in the past (a backfill's) move it as before; one among them whose event time is corrupt, far
        // ahead (dead-lettered by validate), moves it no further than its Kafka timestamp, not to the clock.
        long hourAgo = start - Duration.ofHours(1).toMillis();
        InputRecord past = step(Instant.ofEpochMilli(hourAgo));
        InputRecord corrupt = step(Instant.ofEpochMilli(start).plus(Duration.ofDays(365 * 100)));
        WatermarkGenerator<InputRecord> replay = strategy.createWatermarkGenerator(context);
        watermarks.clear();
        replay.onEvent(past, assigner.extractTimestamp(past, hourAgo), output);
        replay.onEvent(corrupt, assigner.extractTimestamp(corrupt, hourAgo), output);
        replay.onPeriodicEmit(output);
        assertEquals(List.of(hourAgo - outOfOrder - 1), watermarks);
    }

    @Test
    void anEventTimeTooFarAheadKeepsTheKafkaTimestampButNeverALaterTimeThanNow() {
        TimestampAssigner<InputRecord> assigner = StrawlessJob.watermarks(conf()).createTimestampAssigner(null);
        Instant now = Instant.now();
        long kafkaTimestamp = now.toEpochMilli() - 5;

        assertEquals(now.toEpochMilli(), assigner.extractTimestamp(step(now), kafkaTimestamp));
        assertEquals(kafkaTimestamp, assigner.extractTimestamp(step(now.plus(Duration.ofDays(365 * 100))), kafkaTimestamp));
        // A skewed host stamps the Kafka timestamp as far ahead as the event time.
        long skewed = now.plus(Duration.ofMinutes(30)).toEpochMilli();
        assertTrue(assigner.extractTimestamp(step(Instant.ofEpochMilli(skewed)), skewed) <= System.currentTimeMillis());
        // A limit so large that now plus it overflows accepts everything, as it says.
        long endOfTime = Long.MAX_VALUE;
        assertEquals(endOfTime, StrawlessJob.eventTimeOf(step(Instant.ofEpochMilli(endOfTime)), kafkaTimestamp,
                Long.MAX_VALUE));
    }

    private static InputRecord step(Instant eventTime) {
        return InputRecord.ofStep("agent.steps", 0, 0, 0, StepEvent.newBuilder()
                .setTrajectoryId("t").setStepIndex(0).setAgentId("a").setTaskId("task").setPolicyVersion(1)
                .setEventTime(eventTime).setTrainable(true).setTerminal(TerminalKind.TERMINATED).build());
    }
}
