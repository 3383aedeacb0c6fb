package io.strawless.ops.bench;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.StrawlessKafka;
import io.strawless.ops.fleet.FleetLedger;
import io.strawless.ops.fleet.FleetLedger.SentTrajectory;
import io.strawless.ops.fleet.FleetRecord;
import io.strawless.ops.fleet.FleetScript;
import io.strawless.ops.fleet.FleetSettings;
import io.strawless.ops.fleet.InputTopic;
import io.strawless.pipeline.credit.CreditConfig;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.TrainingBatch;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Latency as a trainer sees it: from the moment an outcome reaches Kafka until the batch that scores its
 * trajectory is visible to a {@code read_committed} consumer.
 *
 * <p>The fleet sends live, each record at its event time, so the job sees traffic as in production. A
 * trajectory is complete once its outcome arrives, but the job emits it only when the watermark passes it,
 * which takes later records: so the fleet goes on sending for a {@code tail} after the last outcome that is
 * measured. A trajectory is identified in the batches by its id.
 */
final class LatencyProbe {

    private static final Duration POLL_TIMEOUT = Duration.ofMillis(20);
    /** How long to wait, after the fleet is done, for measured trajectories still missing from the batches. */
    private static final Duration STRAGGLER_WAIT = Duration.ofSeconds(60);

    private static final long REPORT_EVERY_MILLIS = 3_000;

    /**
     * @param trajectories   trajectories measured (their outcome was sent before the tail)
     * @param unseen         of them, how many no visible batch held when the probe gave up: their latency counts
     *                       as infinite, and a percentile that falls on one is null
     * @param p50Ms          outcome arrival to batch visible, median
     * @param p99Ms          the same, 99th percentile
     * @param p50ToBatchMs   outcome arrival to the batch's creation (its {@code created_at}), median: the rest of
     *                       the latency is the wait for the checkpoint that commits it
     * @param p99ToBatchMs   the same, 99th percentile
     * @param p50FromGroupMs under a group-relative estimator ({@link CreditConfig#groupRelative}), the last outcome
     *                       of the trajectory's group reaching Kafka to the batch visible, median: the job scores a
     *                       group once all its members are complete (or at {@code job.group-timeout}), so a member that
     *                       finished early waits for the group's last, which no job could avoid; null under the other
     *                       estimators, which wait for no group (a trajectory without a group: from its own outcome)
     * @param p99FromGroupMs the same, 99th percentile
     * @param groupRelative  whether the job's estimator is group-relative, so that the two above are measured (they
     *                       are null there too when a percentile falls on a trajectory never seen)
     * @param batches        batches read
     * @param backends       kernel backends the batches name
     * @param load           what the live traffic cost
     */
    record Latency(
            int trajectories,
            int unseen,
            Double p50Ms,
            Double p99Ms,
            Double p50ToBatchMs,
            Double p99ToBatchMs,
            Double p50FromGroupMs,
            Double p99FromGroupMs,
            boolean groupRelative,
            long batches,
            Set<String> backends,
            Load load) {}

    /**
     * What the live traffic cost, over the whole time the fleet sent and settled (over the middle third of its
     * timeline). In the first third the JIT compiler is still busy (at a low rate, code paths the backlog did not
     * take reach its thresholds slowly: a long-running job pays that once); in the last the fleet winds down, agents
     * finishing their last trajectories, while the job's fixed costs (checkpoints, polls) go on. Measured, both
     * raised the whole window's figure. Traffic that arrives at its pace shares little (the assembler's
     * mini-batches, the batches' fill), so a step costs more than in a backlog.
     */
    record Load(Cost whole, Cost settled) {}

    /**
     * Steps sent at their pace over a window of the live phase, and the process CPU time of that window less the
     * bench's own threads (the fleet's sender, the trainer it simulates): the job's and the broker's, as in the
     * backlog runs.
     */
    record Cost(long steps, double seconds, double cpuSeconds, List<CpuWindow.ThreadCpu> threads) {
        /** Closes {@code window}, over which {@code steps} were sent. */
        static Cost of(CpuWindow window, long steps) {
            CpuWindow.Elapsed elapsed = window.close(OWN_THREAD);
            return new Cost(steps, elapsed.seconds(), elapsed.cpuSeconds(), elapsed.threads());
        }

        double stepsPerSecond() {
            return steps / seconds;
        }

        double cpuMicrosPerStep() {
            return 1e6 * cpuSeconds / steps;
        }
    }

    /** Names of the bench's own threads in the live phase, whose CPU time is not the job's. */
    private static final String OWN_THREADS = "bench-live-";
    private static final Predicate<String> OWN_THREAD = thread -> thread.contains(OWN_THREADS);

    private final ReadableConfig conf;
    /** Whether the job's estimator scores a group only once all its members are complete. */
    private final boolean groupRelative;
    private final Map<String, Long> outcomeArrived = new ConcurrentHashMap<>();
    private final Map<String, Long> visibleAt = new ConcurrentHashMap<>();
    private final Map<String, Long> createdAt = new ConcurrentHashMap<>();
    private final Set<String> backends = ConcurrentHashMap.newKeySet();
    private final AtomicLong batches = new AtomicLong();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    /** Measured by the fleet's sender, which knows where in its timeline it is. */
    private final AtomicReference<Cost> settled = new AtomicReference<>();
    /**
     * The whole time the fleet sent, also closed by the sender, before its producer closes: a thread that has ended
     * counts among the process's other threads, and the fleet's own would no longer be left out.
     */
    private final AtomicReference<Cost> whole = new AtomicReference<>();
    private volatile boolean watching = true;

    LatencyProbe(ReadableConfig conf) {
        this.conf = conf;
        this.groupRelative = CreditConfig.from(conf).groupRelative();
    }

    /**
     * The fleet's script moved in time to start at {@code startMillis}: generated twice with the same seed, once
     * to learn how long its timeline is.
     */
    static FleetScript startingAt(FleetSettings fleet, long startMillis) {
        FleetScript probe = FleetScript.generate(fleet, Instant.ofEpochMilli(startMillis));
        long length = startMillis - probe.records().get(0).timestamp();
        return FleetScript.generate(fleet, Instant.ofEpochMilli(startMillis + length));
    }

    /**
     * Sends {@code script} live and measures the trajectories whose outcome comes at least {@code tail} before its end
     * (under a group-relative estimator: whose group's last outcome does, since the group is scored only then).
     */
    Latency measure(FleetScript script, Duration tail, List<TopicPartition> batchPartitions, Progress progress)
            throws Exception {
        Set<String> measured = measurable(script, tail, groupRelative);
        Thread watcher = new Thread(() -> watch(batchPartitions), OWN_THREADS + "trainer");
        watcher.setDaemon(true);
        watcher.start();
        Load load;
        try {
            CpuWindow window = CpuWindow.open();
            Thread sender = new Thread(() -> send(script, window, progress), OWN_THREADS + "fleet");
            sender.start();
            sender.join();
            rethrowFailure();
            load = new Load(whole.get(), settled.get());
            long deadline = System.currentTimeMillis() + STRAGGLER_WAIT.toMillis();
            while (!visibleAt.keySet().containsAll(measured) && System.currentTimeMillis() < deadline) {
                rethrowFailure();
                Thread.sleep(100);
            }
        } finally {
            watching = false;
            watcher.join();
        }
        rethrowFailure();
        return summarise(measured, script.ledger(), load);
    }

    /**
     * The trajectories whose scoring the script's records settle: those whose outcome (with {@code groupRelative},
     * the last outcome of their group) comes at least {@code tail} before the script's end. Event time moves only
     * while inputs come, so what waits for the watermark waits for later records; a member that finished early
     * in a group whose last member finishes in the tail would be timed by when the fleet stops.
     */
    static Set<String> measurable(FleetScript script, Duration tail, boolean groupRelative) {
        long cutoff = script.records().get(script.records().size() - 1).timestamp() - tail.toMillis();
        Map<String, Long> outcomeAt = new HashMap<>();
        for (FleetRecord record : script.records()) {
            if (record.topic() == InputTopic.OUTCOMES) {
                outcomeAt.merge(new String(record.key(), StandardCharsets.UTF_8), record.timestamp(), Math::max);
            }
        }
        Map<String, List<String>> members = membersByGroup(script.ledger());
        Set<String> measurable = new HashSet<>();
        for (String trajectory : outcomeAt.keySet()) {
            Long settledAt = groupRelative
                    ? lastOutcome(groupOf(trajectory, script.ledger(), members), outcomeAt)
                    : outcomeAt.get(trajectory);
            if (settledAt != null && settledAt <= cutoff) {
                measurable.add(trajectory);
            }
        }
        return measurable;
    }

    private void send(FleetScript script, CpuWindow window, Progress progress) {
        Map<InputTopic, String> topics = new EnumMap<>(InputTopic.class);
        for (InputTopic topic : InputTopic.values()) {
            topics.put(topic, topic.name(conf));
        }
        long nextReport = System.currentTimeMillis() + REPORT_EVERY_MILLIS;
        long first = script.records().get(0).timestamp();
        long length = script.records().get(script.records().size() - 1).timestamp() - first;
        long settledFrom = first + length / 3;
        long settledUntil = first + 2 * length / 3;
        CpuWindow settledWindow = null;
        long stepsBeforeSettled = 0;
        int sent = 0;
        long stepsSent = 0;
        // Each progress line says what the steps since the one before cost: the figure settles as the JIT warms up.
        CpuWindow interval = CpuWindow.open();
        long stepsBeforeInterval = 0;
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(producerProperties())) {
            for (FleetRecord record : script.records()) {
                long wait = record.timestamp() - System.currentTimeMillis();
                if (wait > 0) {
                    Thread.sleep(wait);
                }
                rethrowFailure();
                if (settledWindow == null && record.timestamp() >= settledFrom) {
                    settledWindow = CpuWindow.open();
                    stepsBeforeSettled = stepsSent;
                } else if (settledWindow != null && settled.get() == null && record.timestamp() >= settledUntil) {
                    settled.set(Cost.of(settledWindow, stepsSent - stepsBeforeSettled));
                }
                String trajectory = new String(record.key(), StandardCharsets.UTF_8);
                boolean outcome = record.topic() == InputTopic.OUTCOMES;
                producer.send(
                        new ProducerRecord<>(
                                topics.get(record.topic()), null, record.timestamp(), record.key(), record.value()),
                        (metadata, e) -> {
                            if (e != null) {
                                failure.compareAndSet(null, e);
                            } else if (outcome) {
                                outcomeArrived.put(trajectory, System.currentTimeMillis());
                            }
                        });
                sent++;
                if (record.topic() == InputTopic.STEPS) {
                    stepsSent++;
                }
                if (System.currentTimeMillis() > nextReport) {
                    Cost lastInterval = Cost.of(interval, stepsSent - stepsBeforeInterval);
                    interval = CpuWindow.open();
                    progress.line(
                            "live: %,d of %,d records sent, %,d trajectories in visible batches; %s us CPU per step"
                                    + " in the last %.0f s",
                            sent, script.records().size(), visibleAt.size(),
                            lastInterval.steps() == 0 ? "-" : "%.1f".formatted(lastInterval.cpuMicrosPerStep()),
                            lastInterval.seconds());
                    stepsBeforeInterval = stepsSent;
                    nextReport += REPORT_EVERY_MILLIS;
                }
            }
            if (settled.get() == null) { // a timeline too short for its last third to start after a record
                settled.set(Cost.of(settledWindow, stepsSent - stepsBeforeSettled));
            }
            producer.flush();
            whole.set(Cost.of(window, stepsSent));
        } catch (Throwable e) {
            failure.compareAndSet(null, e);
        }
    }

    /** Reads the batches topic as a trainer does and notes when each trajectory became visible. */
    private void watch(List<TopicPartition> partitions) {
        Properties properties = StrawlessKafka.consumerProperties(conf, conf.get(KafkaOptions.GROUP_ID) + "-trainer");
        properties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        properties.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        properties.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(properties)) {
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            while (watching) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(POLL_TIMEOUT)) {
                    long now = System.currentTimeMillis();
                    TrainingBatch batch = TrainingBatch.fromByteBuffer(ByteBuffer.wrap(record.value()));
                    batches.incrementAndGet();
                    backends.add(batch.getBackend());
                    for (ScoredTrajectory trajectory : batch.getTrajectories()) {
                        visibleAt.putIfAbsent(trajectory.getTrajectoryId(), now);
                        createdAt.putIfAbsent(
                                trajectory.getTrajectoryId(),
                                batch.getCreatedAt().toEpochMilli());
                    }
                }
            }
        } catch (Throwable e) {
            failure.compareAndSet(null, e);
        }
    }

    private Latency summarise(Set<String> measured, FleetLedger ledger, Load load) {
        double[] toVisible = new double[measured.size()];
        double[] toBatch = new double[measured.size()];
        int unseen = 0;
        int i = 0;
        for (String trajectory : measured) {
            Long arrived = outcomeArrived.get(trajectory);
            Long visible = visibleAt.get(trajectory);
            if (arrived == null || visible == null) {
                unseen++;
                toVisible[i] = Double.POSITIVE_INFINITY;
                toBatch[i] = Double.POSITIVE_INFINITY;
            } else {
                toVisible[i] = visible - arrived;
                toBatch[i] = createdAt.get(trajectory) - arrived;
            }
            i++;
        }
        double[] fromGroup = groupRelative
                ? fromGroupOutcomes(measured, ledger, outcomeArrived, visibleAt)
                : null;
        return new Latency(
                measured.size(),
                unseen,
                percentile(toVisible, 50),
                percentile(toVisible, 99),
                percentile(toBatch, 50),
                percentile(toBatch, 99),
                fromGroup == null ? null : percentile(fromGroup, 50),
                fromGroup == null ? null : percentile(fromGroup, 99),
                groupRelative,
                batches.get(),
                new TreeSet<>(backends),
                load);
    }

    /**
     * For each measured trajectory, in order, the time from the last outcome of its group (its own, without a group,
     * or where the fleet's ledger does not know it) reaching Kafka to its batch being visible; infinite where either
     * is unknown, which includes a group with a member whose outcome never came (the live phase sends every outcome;
     * the job would score the others at the group's timeout).
     */
    static double[] fromGroupOutcomes(Collection<String> measured, FleetLedger ledger, Map<String, Long> arrivedAt,
            Map<String, Long> visibleAt) {
        Map<String, List<String>> members = membersByGroup(ledger);
        double[] latencies = new double[measured.size()];
        int i = 0;
        for (String trajectory : measured) {
            Long visible = visibleAt.get(trajectory);
            Long groupArrived = lastOutcome(groupOf(trajectory, ledger, members), arrivedAt);
            latencies[i++] = visible == null || groupArrived == null ? Double.POSITIVE_INFINITY : visible - groupArrived;
        }
        return latencies;
    }

    /** The trajectory ids of each group the fleet sent. */
    private static Map<String, List<String>> membersByGroup(FleetLedger ledger) {
        Map<String, List<String>> members = new HashMap<>();
        for (SentTrajectory sent : ledger.trajectories().values()) {
            if (sent.groupId() != null) {
                members.computeIfAbsent(sent.groupId(), group -> new ArrayList<>()).add(sent.trajectoryId());
            }
        }
        return members;
    }

    /** The members of the trajectory's group; itself alone without a group, or where the ledger does not know it. */
    private static List<String> groupOf(String trajectory, FleetLedger ledger, Map<String, List<String>> members) {
        SentTrajectory sent = ledger.trajectories().get(trajectory);
        return sent == null || sent.groupId() == null ? List.of(trajectory) : members.get(sent.groupId());
    }

    /** The latest of these trajectories' outcome times in {@code outcomeAt}; null where one has none. */
    private static Long lastOutcome(List<String> trajectories, Map<String, Long> outcomeAt) {
        long last = Long.MIN_VALUE;
        for (String trajectory : trajectories) {
            Long arrived = outcomeAt.get(trajectory);
            if (arrived == null) {
                return null;
            }
            last = Math.max(last, arrived);
        }
        return last;
    }

    /** Nearest-rank percentile; null when there are no values or it falls on an infinite one. */
    static Double percentile(double[] values, double percent) {
        if (values.length == 0) {
            return null;
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        double value = sorted[(int) Math.ceil(percent / 100 * sorted.length) - 1];
        return Double.isInfinite(value) ? null : value;
    }

    private void rethrowFailure() {
        Throwable e = failure.get();
        if (e != null) {
            throw new IllegalStateException("the latency probe failed: " + e, e);
        }
    }

    private Properties producerProperties() {
        Properties properties = StrawlessKafka.producerProperties(conf); // idempotent, acks=all, as the fleet
        // Its network thread is named after it: one of the bench's own threads (OWN_THREADS).
        properties.put(ProducerConfig.CLIENT_ID_CONFIG, "strawless-" + OWN_THREADS + "fleet");
        // Each record leaves within 5 ms of its time. Not 0: a request per record made the in-process broker spend
        // more CPU on the fleet than the job spent on its steps, and that CPU counts in the live phase's figure.
        properties.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        properties.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        properties.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        return properties;
    }
}
