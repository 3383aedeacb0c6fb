package io.strawless.pipeline;

import java.time.Duration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

/**
 * The job's own settings. Like every Strawless option they are plain Flink {@link ConfigOption}s, so
 * the same keys work embedded ({@code strawless demo -D key=value}), on a cluster ({@code flink run
 * -Dkey=value} or the Flink configuration) and in backfill.
 */
public final class JobOptions {

    public static final ConfigOption<String> JOB_NAME =
            ConfigOptions.key("job.name")
                    .stringType()
                    .defaultValue("strawless")
                    .withDescription("Name of the Flink job.");

    public static final ConfigOption<Duration> MAX_OUT_OF_ORDERNESS =
            ConfigOptions.key("job.max-out-of-orderness")
                    .durationType()
                    .defaultValue(Duration.ofSeconds(2))
                    .withDescription(
                            "How far behind the newest event time an input may arrive and still be"
                                    + " in order: the watermark trails the newest event time by this much (and the"
                                    + " job's clock, where an input is stamped ahead of it).");

    public static final ConfigOption<Duration> SOURCE_IDLENESS =
            ConfigOptions.key("job.source-idleness")
                    .durationType()
                    .defaultValue(Duration.ofSeconds(10))
                    .withDescription(
                            "A source partition that sends nothing for this long is marked idle, so one"
                                    + " quiet partition does not hold the watermark back. Records it sends later"
                                    + " may then be behind the watermark, and come late; so where agents write their"
                                    + " inputs in Kafka transactions, keep it above their producers'"
                                    + " transaction.timeout.ms (a read_committed source sees nothing of a partition"
                                    + " while a transaction on it is open). Above 0: to never mark a partition idle,"
                                    + " set a duration longer than the job will run (e.g. 365d, as a backfill does).");

    public static final ConfigOption<Duration> OUTCOME_TIMEOUT =
            ConfigOptions.key("job.outcome-timeout")
                    .durationType()
                    .defaultValue(Duration.ofMinutes(5))
                    .withDescription(
                            "Event time a trajectory whose steps are complete (contiguous up to a terminal step)"
                                    + " waits, after its last input, for its outcome. Then it goes to the unscored"
                                    + " topic with reason OUTCOME_TIMEOUT (or is scored without it: see"
                                    + " job.outcome-timeout-policy). Where outcomes come late (a human review),"
                                    + " raise it, and keep job.inactivity-timeout short.");

    public static final ConfigOption<Duration> INACTIVITY_TIMEOUT =
            ConfigOptions.key("job.inactivity-timeout")
                    .durationType()
                    .noDefaultValue()
                    .withDescription(
                            "Event time a trajectory whose steps are not complete (a gap, or no terminal step yet)"
                                    + " waits after its last input. Then it goes to the unscored topic with reason"
                                    + " INCOMPLETE (UNKNOWN_TRAJECTORY when no step came at all). An outcome revision"
                                    + " does not count as an input here: it replaces the outcome but moves no wait, so"
                                    + " that revisions published again and again cannot hold a trajectory open. Unset:"
                                    + " job.outcome-timeout, so that one setting bounds every wait for inputs.");

    public static final ConfigOption<Duration> GROUP_TIMEOUT =
            ConfigOptions.key("job.group-timeout")
                    .durationType()
                    .defaultValue(Duration.ofMinutes(5))
                    .withDescription(
                            "Event time a group-relative estimator waits, after a group's first completed"
                                    + " trajectory (after the watermark, where that trajectory completed behind it),"
                                    + " for the rest of the group (its group_size). Then the"
                                    + " group closes with the trajectories that came (job.partial-groups says"
                                    + " whether they are scored); a member that started before its group closed"
                                    + " and completes after goes to the unscored topic as LATE (one that started"
                                    + " after opens a new group of that id).");

    public static final ConfigOption<Double> BASELINE_DECAY =
            ConfigOptions.key("baseline.decay")
                    .doubleType()
                    .defaultValue(0.9)
                    .withDescription(
                            "Decay of the per-task streaming baseline (the outcome estimator's, and that of a"
                                    + " trajectory alone in its group under credit.singleton-group=task-baseline),"
                                    + " within"
                                    + " [0, 1]: the"
                                    + " baseline is the running mean of the task's earlier outcomes, turning"
                                    + " into an exponential moving average with weight 1 - decay once"
                                    + " 1/(1 - decay) outcomes have been seen. The first trajectory of a task"
                                    + " has baseline 0.");

    public static final ConfigOption<Duration> BASELINE_TTL =
            ConfigOptions.key("baseline.ttl")
                    .durationType()
                    .defaultValue(Duration.ofHours(24))
                    .withDescription(
                            "Event time after which a task's baseline is forgotten when none of its"
                                    + " trajectories arrived; bounds the state of tasks that stop appearing."
                                    + " Must be positive.");

    public static final ConfigOption<Integer> BATCH_MAX_TRAJECTORIES =
            ConfigOptions.key("batch.max-trajectories")
                    .intType()
                    .defaultValue(256)
                    .withDescription(
                            "A training batch is closed once it holds at least this many trajectories"
                                    + " (whole groups are never split, so a batch may exceed it by one group),"
                                    + " or before a group would take it past kafka.max-record-bytes. At least 1 (1 sends"
                                    + " each group on as it closes).");

    public static final ConfigOption<Duration> BATCH_MAX_LATENCY =
            ConfigOptions.key("batch.max-latency")
                    .durationType()
                    .defaultValue(Duration.ofSeconds(1))
                    .withDescription(
                            "Processing time a scored trajectory may wait for its batch to fill (see also"
                                    + " batch.close-at-checkpoint). A batch becomes visible to read_committed"
                                    + " consumers when the first checkpoint after it completes.");

    public static final ConfigOption<Boolean> BATCH_CLOSE_AT_CHECKPOINT =
            ConfigOptions.key("batch.close-at-checkpoint")
                    .booleanType()
                    .defaultValue(true)
                    .withDescription(
                            "true: a pending batch also closes at every checkpoint barrier, so that it is committed"
                                    + " with that checkpoint instead of the one after (about one checkpoint interval"
                                    + " less latency). false: batches close only by size or batch.max-latency, so"
                                    + " they are fuller where batch-level statistics matter (credit.normalize=batch,"
                                    + " credit.scale-rewards=batch), and the batches a stream is cut into do not"
                                    + " depend on the checkpoint interval.");

    public static final ConfigOption<Integer> MAX_STEP_INDEX =
            ConfigOptions.key("job.max-step-index")
                    .intType()
                    .defaultValue(10_000)
                    .withDescription("Largest step index accepted; a step or verdict beyond it is dead-lettered"
                            + " (INVALID_STEP_INDEX), so one corrupt index cannot make the job wait for millions of steps."
                            + " An open trajectory's state notes which indices arrived, a bit per index up to its"
                            + " largest (at most this value / 8 bytes).");

    public static final ConfigOption<Integer> MAX_VERDICTS_PER_TRAJECTORY =
            ConfigOptions.key("job.max-verdicts-per-trajectory")
                    .intType()
                    .defaultValue(10_000)
                    .withDescription("Most verifier signals an open trajectory keeps; those beyond are dead-lettered"
                            + " (TOO_MANY_VERDICTS), so a verifier stuck in a loop cannot grow a trajectory's state"
                            + " without end or hold it open (every input moves its waits). A verifier's newer signal"
                            + " for a step replaces its older one in the credit, but both are kept and count here.");

    public static final ConfigOption<Duration> MAX_FUTURE_EVENT_TIME =
            ConfigOptions.key("job.max-future-event-time")
                    .durationType()
                    .defaultValue(Duration.ofMinutes(1))
                    .withDescription("An input whose event time is further than this ahead of the job's clock is"
                            + " dead-lettered (FUTURE_EVENT_TIME): its trajectory would wait until then. One less far"
                            + " ahead keeps its event time; the watermark never passes the job's clock, so it moves"
                            + " no other trajectory's waits.");

    public static final ConfigOption<Integer> MAX_TOKENS_PER_STEP =
            ConfigOptions.key("job.max-tokens-per-step")
                    .intType()
                    .defaultValue(32_768)
                    .withDescription("Most token ids a step may inline; larger steps must use payload_ref."
                            + " Beyond it the step is dead-lettered (OVERSIZED_PAYLOAD).");

    public static final ConfigOption<Duration> ALLOWED_LATENESS =
            ConfigOptions.key("job.allowed-lateness")
                    .durationType()
                    .defaultValue(Duration.ZERO)
                    .withDescription("How far behind the watermark an input may be and still open a new"
                            + " trajectory; at most job.finished-retention. Inputs for open trajectories are always"
                            + " used; an input behind the"
                            + " watermark (let in by this, or late for its open trajectory) makes the trajectory's"
                            + " timeouts count from the watermark, not from its event time. Inputs further behind that"
                            + " would open one, and any"
                            + " input for a trajectory already scored or timed out, go to the unscored topic"
                            + " (LATE, or LATE_REVISION for an outcome revision after scoring).");

    public static final ConfigOption<Duration> FINISHED_RETENTION =
            ConfigOptions.key("job.finished-retention")
                    .durationType()
                    .defaultValue(Duration.ofMinutes(30))
                    .withDescription("Event time a scored or timed-out trajectory is remembered, so that its"
                            + " stragglers (a late outcome revision, a late step or verdict) are recognised"
                            + " as LATE / LATE_REVISION rather than as a new trajectory (so at least"
                            + " job.allowed-lateness); likewise a closed group, so"
                            + " that a member that started before it closed and completes after is LATE rather than"
                            + " a second group of the same id.");

    /** {@link #MINI_BATCH_SIZE} where it is not set and the state is not on the heap. */
    public static final int MINI_BATCH_SIZE_OFF_HEAP = 50_000;

    public static final ConfigOption<Integer> MINI_BATCH_SIZE =
            ConfigOptions.key("job.mini-batch.size")
                    .intType()
                    .noDefaultValue()
                    .withDescription("Most inputs the assembler holds (within job.mini-batch.max-bytes) before it applies them to its state, key by"
                            + " key: a trajectory's state is then read and written once for all of its inputs in the"
                            + " mini-batch instead of once per input. That pays off on RocksDB, where each state"
                            + " access is a call into RocksDB, when inputs queue up: catching up after a restart, a"
                            + " backfill, a traffic peak. The mini-batch is also applied after"
                            + " job.mini-batch.allow-latency and before every checkpoint; a watermark that comes"
                            + " meanwhile waits with it. 1 applies every input at once. Unset: "
                            + MINI_BATCH_SIZE_OFF_HEAP + " with RocksDB state, 1 with heap state (there a state access"
                            + " is a hash lookup, and mini-batches measured no faster).");

    public static final ConfigOption<MemorySize> MINI_BATCH_MAX_BYTES =
            ConfigOptions.key("job.mini-batch.max-bytes")
                    .memoryType()
                    .defaultValue(MemorySize.ofMebiBytes(64))
                    .withDescription("Most bytes of inputs (their encodings: a step's token ids count) the assembler's"
                            + " mini-batch holds on the heap; it is applied once they are reached, whatever"
                            + " job.mini-batch.size says. Without it, 50,000 steps of a few thousand tokens each would"
                            + " hold most of a task manager's heap while the job catches up.");

    /** {@link #MINI_BATCH_ALLOW_LATENCY} where it is not set: complete trajectories wait for the watermark anyway. */
    public static final Duration MINI_BATCH_ALLOW_LATENCY_ON_WATERMARK = Duration.ofSeconds(1);
    /** {@link #MINI_BATCH_ALLOW_LATENCY} where it is not set and {@link #EMIT_ON_COMPLETION} is: latency first. */
    public static final Duration MINI_BATCH_ALLOW_LATENCY_ON_COMPLETION = Duration.ofMillis(100);

    public static final ConfigOption<Duration> MINI_BATCH_ALLOW_LATENCY =
            ConfigOptions.key("job.mini-batch.allow-latency")
                    .durationType()
                    .noDefaultValue()
                    .withDescription("Longest an input waits in the assembler's mini-batch (processing time) when"
                            + " the mini-batch is not full and no checkpoint comes first (see job.mini-batch.size)."
                            + " Watermarks wait with the held inputs, so the job's outputs move by up to this much."
                            + " Unset: " + MINI_BATCH_ALLOW_LATENCY_ON_WATERMARK.toMillis() + " ms (complete"
                            + " trajectories wait for the watermark, and batches for a checkpoint, anyway), "
                            + MINI_BATCH_ALLOW_LATENCY_ON_COMPLETION.toMillis() + " ms with job.emit-on-completion.");

    public static final ConfigOption<java.util.List<String>> REQUIRED_VERIFIERS =
            ConfigOptions.key("job.required-verifiers")
                    .stringType()
                    .asList()
                    .defaultValues()
                    .withDescription("Verifier ids whose score every trainable step must have before the"
                            + " trajectory is complete (a per-step quorum). Empty: verdicts are attached as they come.");

    public static final ConfigOption<Duration> VERIFIER_TIMEOUT =
            ConfigOptions.key("job.verifier-timeout")
                    .durationType()
                    .defaultValue(Duration.ofMinutes(1))
                    .withDescription("Event time to wait for the required verifiers once steps and outcome are"
                            + " complete; then job.verifier-timeout-policy says what becomes of the trajectory.");

    /** What becomes of a complete trajectory whose required verifiers did not all come within their timeout. */
    public enum VerifierTimeoutPolicy {
        /** Scored with the verdicts that came, and marked so in the batch. */
        SCORE,
        /** The unscored topic, reason INCOMPLETE. */
        UNSCORED
    }

    public static final ConfigOption<VerifierTimeoutPolicy> VERIFIER_TIMEOUT_POLICY =
            ConfigOptions.key("job.verifier-timeout-policy")
                    .enumType(VerifierTimeoutPolicy.class)
                    .defaultValue(VerifierTimeoutPolicy.SCORE)
                    .withDescription("What becomes of a trajectory whose steps and outcome are complete but whose"
                            + " job.required-verifiers have not all judged every trainable step within"
                            + " job.verifier-timeout. SCORE: it is scored with the verdicts that came, with"
                            + " verifiers_timed_out=true in the batch, so that a trainer can tell it missed the"
                            + " quorum. UNSCORED: the unscored topic (INCOMPLETE), the detail naming the missing"
                            + " verifiers and how many trainable steps lack them. Either way, its verdicts that"
                            + " come later go to the unscored topic as LATE.");

    public static final ConfigOption<Boolean> EMIT_ON_COMPLETION =
            ConfigOptions.key("job.emit-on-completion")
                    .booleanType()
                    .defaultValue(false)
                    .withDescription("false: a complete trajectory is scored once the watermark passes its newest"
                            + " input (outcome revisions aside: they move no wait), so that verifier signals read out"
                            + " of order (within job.max-out-of-orderness), and revisions that come before then, still"
                            + " count. true: it is scored as soon as it is complete"
                            + " (steps up to the terminal one, the outcome, any required verdicts), which saves"
                            + " about job.max-out-of-orderness of latency; signals that come after go to the"
                            + " unscored topic as LATE, outcome revisions as LATE_REVISION. Event time moves only while"
                            + " inputs come: when every input partition goes quiet, what waits for the watermark (under"
                            + " false, complete trajectories too; every timeout) waits for the next input.");

    /** What becomes of a trajectory whose steps are complete but whose outcome never came. */
    public enum OutcomeTimeoutPolicy {
        /** The unscored topic, reason OUTCOME_TIMEOUT. */
        UNSCORED,
        /** Scored on its verifier signals alone, under the process estimator, and marked so in the batch. */
        PROCESS_ONLY
    }

    public static final ConfigOption<OutcomeTimeoutPolicy> OUTCOME_TIMEOUT_POLICY =
            ConfigOptions.key("job.outcome-timeout-policy")
                    .enumType(OutcomeTimeoutPolicy.class)
                    .defaultValue(OutcomeTimeoutPolicy.UNSCORED)
                    .withDescription("What becomes of a trajectory whose steps are complete but whose outcome did"
                            + " not come within job.outcome-timeout. UNSCORED: the unscored topic (OUTCOME_TIMEOUT)."
                            + " PROCESS_ONLY: with credit.estimator=process and at least one verifier signal of one of"
                            + " its steps, it is scored on its signals alone, as a group of its own, with"
                            + " outcome_timed_out=true in the batch (it teaches the verifier reliabilities nothing and is"
                            + " never a quarantine suspect); without such a signal (a verdict of the whole trajectory"
                            + " gives no step a process reward), or under another estimator, it is unscored as before."
                            + " Short of job.required-verifiers, it is treated as job.verifier-timeout-policy says:"
                            + " scored with verifiers_timed_out=true, or unscored (INCOMPLETE).");

    /** What to do with a group whose timeout fired before all its members completed. */
    public enum PartialGroupPolicy {
        /** Score the members that came, as a smaller group. */
        SCORE,
        /** Send them to the unscored topic (INCOMPLETE), e.g. when group statistics need the full size. */
        UNSCORED
    }

    public static final ConfigOption<PartialGroupPolicy> PARTIAL_GROUPS =
            ConfigOptions.key("job.partial-groups")
                    .enumType(PartialGroupPolicy.class)
                    .defaultValue(PartialGroupPolicy.SCORE)
                    .withDescription("Policy for a group that closes short of its group_size: at its timeout, or"
                            + " when its missing members went another way (STALE, or scored without their outcome).");

    public static final ConfigOption<Long> MAX_POLICY_LAG =
            ConfigOptions.key("job.max-policy-lag")
                    .longType()
                    .noDefaultValue()
                    .withDescription("Optional staleness filter: a trajectory whose oldest step's policy_version"
                            + " is more than this behind the newest version seen for its task (judged when it"
                            + " completes, and again when its group closes) goes to the unscored topic (STALE)"
                            + " instead of a batch; its group stops waiting for it (it counts towards"
                            + " group_size, and the group is short of it: see job.partial-groups). The newest version is"
                            + " the highest any of the task's trajectories carried; when no trajectory has carried it"
                            + " for baseline.ttl of event time, the next trajectory's newest version takes its place."
                            + " So one step with a far too high version makes the task's later trajectories stale for"
                            + " that long, and the members of its groups still waiting when they close; their unscored"
                            + " records name the trajectory that brought it. 0 or more;"
                            + " unset: no filter, and no versions kept.");

    public static final ConfigOption<Integer> INJECT_FAILURES =
            ConfigOptions.key("debug.inject-failures")
                    .intType()
                    .defaultValue(0)
                    .withDescription("For exactly-once drills only: the validate operator throws on each of the"
                            + " job's first N attempts, after debug.inject-failure-after records, so the restart"
                            + " strategy restores from the last checkpoint. 0 (the default) never fails.");

    public static final ConfigOption<Long> INJECT_FAILURE_AFTER =
            ConfigOptions.key("debug.inject-failure-after")
                    .longType()
                    .defaultValue(20_000L)
                    .withDescription("Records an attempt processes (per parallel instance) before an injected failure.");

    private JobOptions() {}
}
