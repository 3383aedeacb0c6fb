package io.strawless.pipeline;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.StrawlessKafka;
import io.strawless.connectors.serde.InputRecord;
import io.strawless.connectors.serde.InputRecordSerializer;
import io.strawless.pipeline.assembly.AssembleTrajectory;
import io.strawless.pipeline.assembly.AssembledTrajectory;
import io.strawless.pipeline.assembly.AssembledTrajectorySerializer;
import io.strawless.pipeline.assembly.DeadLetters;
import io.strawless.pipeline.assembly.InputValidator;
import io.strawless.pipeline.assembly.MiniBatchAssembler;
import io.strawless.pipeline.assembly.ValidateInputs;
import io.strawless.pipeline.batching.ScoreAndBatch;
import io.strawless.pipeline.batching.ScoreAndBatchOperator;
import io.strawless.pipeline.credit.CreditConfig;
import io.strawless.pipeline.grouping.GroupTrajectories;
import io.strawless.pipeline.grouping.TrajectoryGroup;
import io.strawless.pipeline.grouping.TrajectoryGroupSerializer;
import io.strawless.schemas.DeadLetter;
import io.strawless.schemas.TrainingBatch;
import io.strawless.schemas.UnscoredTrajectory;
import java.time.Duration;
import java.time.Instant;
import org.apache.flink.api.common.eventtime.BoundedOutOfOrdernessWatermarks;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.CheckpointConfig;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.TimeUtils;
import org.apache.flink.util.function.SerializableFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Strawless job, read top-down as the pipeline diagram:
 *
 * <pre>
 * inputs ─ validate ─ keyBy(trajectory) ─ assemble ─ keyBy(task) ─ group ─ keyBy(bucket) ─ score-and-batch ─> batches
 *             └─> dead letters        ├─> dead letters   └─> unscored           └─> unscored
 *                                     └─> unscored
 * </pre>
 *
 * Source and sinks are parameters, so tests can swap them; {@link #buildOnKafka} wires the Kafka ones.
 * Every operator has a stable uid: state survives upgrades from a savepoint. Every operator is named after its uid
 * too: the name is what metric reporters label an operator's metrics with ({@code operator_name} with Prometheus), so
 * a dashboard filters on the uids that ops/METRICS.md lists, and a setting (the estimator) renames nothing. What
 * more an operator does is in its description, which the web UI shows.
 */
public final class StrawlessJob {

    private static final Logger LOG = LoggerFactory.getLogger(StrawlessJob.class);

    private StrawlessJob() {}

    /**
     * Builds the job on Kafka in an environment that never runs, so that a setting it refuses fails at once with an
     * {@link IllegalArgumentException} that names the key: the commands call it before they start a broker.
     */
    public static void checkSettings(Configuration conf) {
        requireCheckpointInterval(conf); // before Flink's own check, which names no key, when the environment is made
        buildOnKafka(StreamExecutionEnvironment.getExecutionEnvironment(conf), conf);
    }

    /** Adds the job to {@code env}, reading and writing the Kafka topics named in {@code conf}. */
    public static void buildOnKafka(StreamExecutionEnvironment env, ReadableConfig conf) {
        requireExactlyOnceSettings(env, conf);
        buildWithKafkaSinks(env, conf, StrawlessKafka.inputSource(conf));
    }

    /**
     * Adds the job to {@code env} with {@code inputs} as its source (a backfill's, which starts and stops at
     * offsets it looked up itself) and the Kafka sinks named in {@code conf}.
     */
    public static void buildOnKafka(
            StreamExecutionEnvironment env, ReadableConfig conf, Source<InputRecord, ?, ?> inputs) {
        requireExactlyOnceSettings(env, conf);
        buildWithKafkaSinks(env, conf, inputs);
    }

    private static void buildWithKafkaSinks(
            StreamExecutionEnvironment env, ReadableConfig conf, Source<InputRecord, ?, ?> inputs) {
        KafkaOptions.requireSeparateOutputTopics(conf);
        build(env, conf,
                inputs,
                StrawlessKafka.batchSink(conf),
                StrawlessKafka.deadLetterSink(conf),
                StrawlessKafka.unscoredSink(conf));
    }

    /**
     * The settings without which the exactly-once sinks lose, repeat or never publish output: checkpointing on, in
     * exactly-once mode, and transactions that outlive a checkpoint.
     *
     * @throws IllegalArgumentException naming the key to change
     */
    public static void requireExactlyOnceSettings(StreamExecutionEnvironment env, ReadableConfig conf) {
        requireCheckpointInterval(conf);
        if (env.getCheckpointConfig().getCheckpointInterval() <= 0
                && conf.getOptional(CheckpointingOptions.CHECKPOINTING_INTERVAL).isEmpty()) {
            // Exactly-once Kafka output commits on checkpoints: without them nothing ever becomes visible.
            throw new IllegalArgumentException(
                    "Checkpointing is off, so no batch would ever be committed: set "
                            + CheckpointingOptions.CHECKPOINTING_INTERVAL.key() + " (e.g. 10s)");
        }
        CheckpointingMode mode = conf.getOptional(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE)
                .orElse(env.getCheckpointConfig().getCheckpointingConsistencyMode());
        if (mode != CheckpointingMode.EXACTLY_ONCE) {
            // Barriers are not aligned at the keyed stages: after a restore, inputs counted in the checkpoint are
            // applied again, and the transactional sinks commit what they made twice.
            throw new IllegalArgumentException(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE.key() + " is "
                    + mode + ": the job's output is exactly once only with EXACTLY_ONCE checkpoints (the default);"
                    + " remove the setting or set EXACTLY_ONCE");
        }
        requireTransactionsOutliveCheckpoints(env, conf);
    }

    /** The shortest checkpoint interval Flink takes. */
    private static final Duration MIN_CHECKPOINT_INTERVAL = Duration.ofMillis(10);

    /**
     * Refuses a configured {@code execution.checkpointing.interval} that Flink refuses, naming the key: Flink's own
     * words ("Checkpoint interval must be larger than or equal to 10 ms"), which come when an environment is made
     * from {@code conf}, do not. Call it before.
     *
     * @throws IllegalArgumentException naming the key, when the interval is set below 10 ms
     */
    public static void requireCheckpointInterval(ReadableConfig conf) {
        conf.getOptional(CheckpointingOptions.CHECKPOINTING_INTERVAL).ifPresent(interval -> {
            if (interval.compareTo(MIN_CHECKPOINT_INTERVAL) < 0) {
                throw new IllegalArgumentException(CheckpointingOptions.CHECKPOINTING_INTERVAL.key()
                        + " must be at least 10 ms, was " + TimeUtils.formatWithHighestUnit(interval)
                        + ": the job's output is committed at checkpoints (e.g. 10s)");
            }
        });
    }

    /**
     * A sink's transaction opens when checkpoint N's barrier passes the sink and commits when checkpoint N+1
     * completes. Checkpoint N may take the checkpoint timeout T, N+1 starts at the latest max(interval, T + min-pause)
     * after N did and may take T too, and every tolerated failure of a checkpoint adds one more such turn. The broker
     * aborts a transaction after {@code kafka.transaction-timeout}; a checkpoint that completes later still commits the
     * input offsets, and the batches in the aborted transaction are lost without an error that stops the job. So the
     * transaction timeout must outlast that worst case.
     *
     * <p>Flink's default checkpoint timeout (10 min) cannot fit the default transaction timeout (15 min, the broker's
     * largest by default): where the checkpoint timeout is not set, the largest that fits is chosen, and logged. It
     * leaves a {@link #restartMargin} besides: a job that fails after checkpoint N+1 completed but before the sink
     * committed commits the transaction when it is restored, which must come before the broker aborts it.
     */
    static void requireTransactionsOutliveCheckpoints(StreamExecutionEnvironment env, ReadableConfig conf) {
        CheckpointConfig checkpoints = env.getCheckpointConfig();
        long interval = checkpoints.getCheckpointInterval() > 0
                ? checkpoints.getCheckpointInterval()
                : conf.get(CheckpointingOptions.CHECKPOINTING_INTERVAL).toMillis();
        long minPause = checkpoints.getMinPauseBetweenCheckpoints();
        int tolerated = Math.max(0, checkpoints.getTolerableCheckpointFailureNumber());
        long transactionTimeout = conf.get(KafkaOptions.TRANSACTION_TIMEOUT).toMillis();
        long checkpointTimeout = checkpoints.getCheckpointTimeout();
        boolean timeoutChosen = conf.getOptional(CheckpointingOptions.CHECKPOINTING_TIMEOUT).isPresent();
        if (!timeoutChosen && longestTransaction(interval, minPause, tolerated, checkpointTimeout) >= transactionTimeout) {
            long margin = restartMargin(transactionTimeout);
            long fitting = largestFittingCheckpointTimeout(interval, minPause, tolerated, transactionTimeout - margin);
            if (fitting < 1_000) { // a long interval leaves no room for the margin: fit without it, as before
                margin = 0;
                fitting = largestFittingCheckpointTimeout(interval, minPause, tolerated, transactionTimeout);
            }
            if (fitting >= 1_000) {
                LOG.info("{} is not set and Flink's default ({}) could outlast a Kafka transaction ({} {}): using {},"
                                + " which leaves {} for a restart",
                        CheckpointingOptions.CHECKPOINTING_TIMEOUT.key(), Duration.ofMillis(checkpointTimeout),
                        KafkaOptions.TRANSACTION_TIMEOUT.key(), Duration.ofMillis(transactionTimeout),
                        Duration.ofMillis(fitting), Duration.ofMillis(margin));
                checkpoints.setCheckpointTimeout(fitting);
                checkpointTimeout = fitting;
            }
        }
        long longest = longestTransaction(interval, minPause, tolerated, checkpointTimeout);
        if (transactionTimeout <= longest) {
            throw new IllegalArgumentException(KafkaOptions.TRANSACTION_TIMEOUT.key() + " ("
                    + Duration.ofMillis(transactionTimeout) + ") must exceed the longest a transaction can stay open, "
                    + Duration.ofMillis(longest) + ": (1 + " + CheckpointingOptions.TOLERABLE_FAILURE_NUMBER.key()
                    + ") x max(" + CheckpointingOptions.CHECKPOINTING_INTERVAL.key() + ", "
                    + CheckpointingOptions.CHECKPOINTING_TIMEOUT.key() + " + "
                    + CheckpointingOptions.MIN_PAUSE_BETWEEN_CHECKPOINTS.key() + ") + "
                    + CheckpointingOptions.CHECKPOINTING_TIMEOUT.key() + " = (1 + " + tolerated + ") x max("
                    + Duration.ofMillis(interval) + ", " + Duration.ofMillis(checkpointTimeout) + " + "
                    + Duration.ofMillis(minPause) + ") + " + Duration.ofMillis(checkpointTimeout) + ", or the broker may"
                    + " abort a transaction whose checkpoint still completes, and its batches are lost: raise the former"
                    + " (up to the broker's transaction.max.timeout.ms, 15 min by default) or lower the checkpoint"
                    + " timeout");
        }
    }

    /**
     * What a chosen checkpoint timeout leaves of the transaction timeout for a restart: a minute (Flink's
     * exponential-delay restart strategy waits at most one by default), or a quarter of a shorter transaction timeout.
     */
    private static long restartMargin(long transactionTimeout) {
        return Math.min(Duration.ofMinutes(1).toMillis(), transactionTimeout / 4);
    }

    private static long longestTransaction(long interval, long minPause, int tolerated, long checkpointTimeout) {
        return (1L + tolerated) * Math.max(interval, checkpointTimeout + minPause) + checkpointTimeout;
    }

    /** The largest checkpoint timeout, in whole seconds, whose {@link #longestTransaction} is below the transaction's. */
    private static long largestFittingCheckpointTimeout(long interval, long minPause, int tolerated, long transaction) {
        // Where timeout + min-pause >= interval: (1 + f)(T + p) + T < txn, so T < (txn - (1 + f)p) / (2 + f).
        long fitting = (transaction - (1L + tolerated) * minPause - 1) / (2L + tolerated);
        if (fitting + minPause < interval) {
            // Else max(...) is the interval: (1 + f) interval + T < txn, with T + p still below the interval.
            fitting = Math.min(transaction - (1L + tolerated) * interval - 1, interval - minPause - 1);
        }
        return fitting / 1_000 * 1_000;
    }

    public static void build(
            StreamExecutionEnvironment env,
            ReadableConfig conf,
            Source<InputRecord, ?, ?> inputs,
            Sink<TrainingBatch> batches,
            Sink<DeadLetter> deadLetters,
            Sink<UnscoredTrajectory> unscored) {
        CreditConfig credit = CreditConfig.from(conf);
        // Without object reuse Flink deep-copies every record passed between chained operators (the source
        // and validate, score-and-batch and the batch sink), an Avro deep copy of each input and of each whole
        // batch. Safe here: every function emits records it made for the purpose and never changes one after
        // emitting it, and the inputs it keeps in state arrive over the network, deserialized afresh.
        env.getConfig().enableObjectReuse();

        SingleOutputStreamOperator<InputRecord> decoded = env
                .fromSource(inputs, watermarks(conf), "inputs").uid("inputs")
                // The three edges between keyed stages carry every step: each is declared with a serializer
                // of its own (InputRecordSerializer, AssembledTrajectorySerializer, TrajectoryGroupSerializer)
                // rather than the POJO serializer with Avro's reflective writer, which led the job's profile.
                .process(new ValidateInputs(conf), InputRecordSerializer.TYPE_INFO).uid("validate").name("validate");

        // The keyed stages fire their timers when a drain ends their input (DrainingKeyedProcessOperator); the
        // assembler applies its inputs in mini-batches (MiniBatchAssembler); pending batches close at every
        // checkpoint, which is when they become visible (ScoreAndBatchOperator). String keys are StringKeys: the
        // bytes of Flink's String serializer, written by a checkpoint in one call per key rather than one per byte.
        SingleOutputStreamOperator<AssembledTrajectory> assembled = decoded
                .keyBy(InputRecord::trajectoryId, StringKeys.TYPE)
                .transform("assemble", AssembledTrajectorySerializer.TYPE_INFO,
                        new MiniBatchAssembler(new AssembleTrajectory(conf), conf))
                .uid("assemble").setDescription("assemble trajectories");

        SingleOutputStreamOperator<TrajectoryGroup> grouped = assembled
                .keyBy(AssembledTrajectory::taskId, StringKeys.TYPE)
                .transform("group", TrajectoryGroupSerializer.TYPE_INFO,
                        new DrainingKeyedProcessOperator<>(new GroupTrajectories(conf)))
                .uid("group");

        int[] bucketKeys = ScoreAndBatch.bucketKeys(Math.max(1, env.getParallelism()), maxParallelism(env));
        SingleOutputStreamOperator<TrainingBatch> trainingBatches = grouped
                .keyBy(group -> ScoreAndBatch.bucketOf(group, bucketKeys))
                .transform("score-and-batch", TypeInformation.of(TrainingBatch.class),
                        new ScoreAndBatchOperator(conf, bucketKeys))
                .uid("score-and-batch").setDescription("score and batch (" + credit.estimator() + ")");

        // Every output is stamped with when it was made (processing time), not with the event time it carries:
        // a drain fires the keyed stages' timers early, so a timer's event time can lie ahead of now, by up to
        // job.outcome-timeout, or Long.MAX_VALUE for the last batches, which Kafka 4 refuses past
        // log.message.timestamp.after.max.ms (1 h by default); and a backfill's event times lie in the past,
        // where the output topics' retention.ms would delete its dead letters and unscored trajectories at once.
        trainingBatches
                .assignTimestampsAndWatermarks(stampedWith(TrainingBatch::getCreatedAt))
                .uid("stamp-batches").name("stamp-batches")
                .sinkTo(batches).uid("sink-batches").name("sink-batches");
        decoded.getSideOutput(DeadLetters.TAG)
                .union(assembled.getSideOutput(DeadLetters.TAG))
                .assignTimestampsAndWatermarks(stampedWith(DeadLetter::getFailedAt))
                .uid("stamp-dead-letters").name("stamp-dead-letters")
                .sinkTo(deadLetters).uid("sink-dead-letters").name("sink-dead-letters");
        assembled.getSideOutput(AssembleTrajectory.UNSCORED)
                .union(grouped.getSideOutput(GroupTrajectories.UNSCORED))
                .union(trainingBatches.getSideOutput(ScoreAndBatch.UNSCORABLE))
                .assignTimestampsAndWatermarks(stampedWith(UnscoredTrajectory::getRoutedAt))
                .uid("stamp-unscored").name("stamp-unscored")
                .sinkTo(unscored).uid("sink-unscored").name("sink-unscored");
    }

    /** Stamps each record with a time it carries; the sinks need no watermarks. */
    private static <T> WatermarkStrategy<T> stampedWith(SerializableFunction<T, Instant> time) {
        return WatermarkStrategy.<T>noWatermarks()
                .withTimestampAssigner((record, flinkTimestamp) -> time.apply(record).toEpochMilli());
    }

    /**
     * The max parallelism the keyed stages will have: the one configured ({@code pipeline.max-parallelism}),
     * or else the one Flink derives from the parallelism. A job restored from a savepoint keeps the max
     * parallelism the savepoint was taken with; set {@code pipeline.max-parallelism} to it when rescaling
     * past 85, where the derived value changes, or the batching buckets share instances again.
     */
    public static int maxParallelism(StreamExecutionEnvironment env) {
        return env.getMaxParallelism() > 0
                ? env.getMaxParallelism()
                : KeyGroupRangeAssignment.computeDefaultMaxParallelism(Math.max(1, env.getParallelism()));
    }

    /**
     * Event time comes from the records themselves (the step, outcome or verdict time), so replays see
     * the same timeouts as the live run. Dead letters have none: they keep the Kafka timestamp.
     *
     * <p>The watermark never runs ahead of the job's clock ({@link NeverAheadOfTheClock}): an agent whose host
     * clock is fast stamps its inputs ahead, and a watermark that followed them would time out every open trajectory
     * of every other agent that much early and make their next inputs LATE. An input within
     * {@code job.max-future-event-time} keeps its event time, and its trajectory waits for the clock.
     */
    static WatermarkStrategy<InputRecord> watermarks(ReadableConfig conf) {
        Duration outOfOrder = conf.get(JobOptions.MAX_OUT_OF_ORDERNESS);
        long maxFutureMillis = conf.get(JobOptions.MAX_FUTURE_EVENT_TIME).toMillis();
        return WatermarkStrategy.<InputRecord>forGenerator(context -> new NeverAheadOfTheClock(outOfOrder))
                .withTimestampAssigner((input, kafkaTimestamp) -> eventTimeOf(input, kafkaTimestamp, maxFutureMillis))
                .withIdleness(sourceIdleness(conf));
    }

    /**
     * {@code job.source-idleness}, checked: Flink refuses one that is not above 0 in words that name no key
     * ("idleTimeout must be greater than zero").
     */
    private static Duration sourceIdleness(ReadableConfig conf) {
        Duration idleness = conf.get(JobOptions.SOURCE_IDLENESS);
        if (idleness.isZero() || idleness.isNegative()) {
            throw new IllegalArgumentException(JobOptions.SOURCE_IDLENESS.key() + " must be above 0, was "
                    + TimeUtils.formatWithHighestUnit(idleness) + ": to never mark a quiet partition idle, set a"
                    + " duration longer than the job will run (e.g. 365d)");
        }
        return idleness;
    }

    /**
     * An input further ahead than {@code job.max-future-event-time} (dead-lettered by validate as FUTURE_EVENT_TIME)
     * takes its Kafka timestamp instead, as an undecodable one does, but never a later time than now: the clock alone
     * would not do in a replay (a backfill, a restart with a backlog), where a corrupt event time years ahead would
     * take the watermark from last week's inputs to now, past every open wait. The producer stamps the Kafka timestamp
     * with its own host's clock, which is skewed too when the event time is, and the broker accepts stamps an hour
     * ahead.
     */
    static long eventTimeOf(InputRecord input, long kafkaTimestamp, long maxFutureMillis) {
        long now = System.currentTimeMillis();
        long fallback = Math.min(kafkaTimestamp, now);
        long eventTime = switch (input.kind()) {
            case STEP -> input.stepFields().eventTime();
            case OUTCOME -> input.outcome.getEventTime().toEpochMilli();
            case VERDICT -> input.verdict.getEventTime().toEpochMilli();
            case DEAD_LETTER -> fallback; // none of its own
        };
        return eventTime > InputValidator.latestAccepted(now, maxFutureMillis) ? fallback : eventTime;
    }

    /**
     * Bounded out-of-orderness over event times taken no later than now, the job's clock when the input is read: so
     * the watermark trails the newest input by {@code job.max-out-of-orderness}, and now by at least as much.
     */
    static final class NeverAheadOfTheClock extends BoundedOutOfOrdernessWatermarks<InputRecord> {

        NeverAheadOfTheClock(Duration outOfOrder) {
            super(outOfOrder);
        }

        @Override
        public void onEvent(InputRecord input, long eventTime, WatermarkOutput output) {
            super.onEvent(input, Math.min(eventTime, System.currentTimeMillis()), output);
        }
    }
}
