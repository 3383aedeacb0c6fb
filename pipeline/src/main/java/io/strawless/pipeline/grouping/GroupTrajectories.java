package io.strawless.pipeline.grouping;

import static io.strawless.pipeline.EventTimes.plus;

import io.strawless.pipeline.CountersByName;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.Ledger;
import io.strawless.pipeline.Ledger.Way;
import io.strawless.pipeline.OpenWork;
import io.strawless.pipeline.JobOptions.PartialGroupPolicy;
import io.strawless.pipeline.StringKeys;
import io.strawless.pipeline.assembly.AssembledTrajectory;
import io.strawless.pipeline.credit.CreditConfig;
import io.strawless.schemas.UnscoredReason;
import io.strawless.schemas.UnscoredTrajectory;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.runtime.state.KeyedStateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.TimerService;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Forms the units that are scored together, keyed by task.
 *
 * <p>Keying by task serves both needs: a group (one task sampled several times) always falls under one
 * task, and the per-task streaming baseline (of the {@code outcome} estimator, and of a trajectory alone in its group
 * under {@code credit.singleton-group=task-baseline}) is this key's state.
 * Group-relative estimators wait here until the group has its expected size or its event-time timeout
 * fires (a group of unknown size, without {@code group_size}, waits for its timeout); a member that went another way
 * (STALE, or scored alone without its outcome) counts towards the size, so the group does not wait for it. For the
 * other estimators each trajectory is a unit of its own. The scoring itself happens when the units are batched, one
 * kernel call per batch.
 *
 * <p>A closed group is remembered for {@code job.finished-retention}: a member that started before its group
 * closed and completes after (a straggler past the group timeout, or one more sample than {@code group_size}
 * said) goes to the unscored topic as LATE. Without the memory it would open a second group with the same id,
 * which a group-relative estimator would score as a group of one, and the trainer would see the group twice. A
 * trajectory whose first step came after the close opens a new group of that id: samplers that number their
 * groups per round reuse ids.
 *
 * <p>A group that timed out closed at its deadline, however late the watermark passed it: a trajectory that started
 * after the deadline opens a new group. The wait itself ends when the watermark passes the deadline, not when a
 * member later than it comes: members of the group read behind that one (from a slower partition or subtask) would
 * otherwise be LATE although they completed in time. A member read before the watermark passes its group's deadline
 * but completing after it (a backfill reads some partitions ahead of others) is held until a timer of the task fires
 * after the group closed ({@link HeldMember}): it is then LATE, or opens the next round's group, as it would have live.
 */
public class GroupTrajectories extends KeyedProcessFunction<String, AssembledTrajectory, TrajectoryGroup>
        implements OpenWork.Recounted {

    public static final OutputTag<UnscoredTrajectory> UNSCORED =
            new OutputTag<>("unscored-at-grouping", TypeInformation.of(UnscoredTrajectory.class));

    private final ReadableConfig conf;
    private final double baselineDecay;
    private final long baselineTtlMillis;
    private final long expiryStepMillis;
    private final long groupTimeoutMillis;
    private final long closedGroupRetentionMillis;
    /** Closed groups are forgotten at multiples of this, so that groups closing close together share a timer. */
    private final long forgetStepMillis;
    private final PartialGroupPolicy partialGroups;
    private final Long maxPolicyLag;

    /** The histograms summarise this many recent groups. */
    private static final int HISTOGRAM_WINDOW = 512;

    private transient boolean groupRelative;
    private transient ValueState<TaskBaseline> baseline;
    private transient MapState<String, PendingGroup> pendingGroups;
    /**
     * Groups that closed, by id, with the time their memory is kept from: the close's event time, or the watermark
     * then where it was ahead (a close far behind the watermark would otherwise be forgotten at once).
     */
    private transient MapState<String, Long> closedGroups;
    /**
     * The event time of a closed group's close where it is before the time {@link #closedGroups} keeps (a timer that
     * fired late, a member completing behind the watermark): a member that started after it opens a new group. Where
     * none is kept (mostly, and in state an earlier release wrote), the time in {@link #closedGroups} is the close's.
     */
    private transient MapState<String, Long> closeTimes;
    /**
     * Members that completed after their pending group's deadline, read before the watermark passed it
     * ({@link HeldMember}), until a timer of the task fires after the group closed. Rare (a backfill's read order),
     * so written as they come and read when a timer of the task fires.
     */
    private transient ListState<HeldMember> heldPastDeadline;
    /** The earliest time a closed group of the task is due to be forgotten; null when none is remembered. */
    private transient ValueState<Long> nextForget;
    private transient ValueState<Long> baselineExpiry;
    /**
     * Under job.max-policy-lag only: the newest policy_version seen for the task, the trajectory it came with, and
     * the event time until which it holds unless a trajectory carries it again.
     */
    private transient ValueState<Long> newestPolicyVersion;
    private transient ValueState<String> newestPolicyVersionFrom;
    private transient ValueState<Long> newestPolicyVersionUntil;

    private transient Counter groupsClosedBySize;
    private transient Counter groupsClosedByTimeout;
    /** Members whose group_size disagreed with the size their group took from its first member. */
    private transient Counter groupSizeConflicts;
    /** Groups waiting for members, over all tasks of this subtask. */
    private transient OpenWork pendingGroupCount;
    /** Event time from a group's first member to its close. */
    private transient Histogram groupWaitMs;
    private transient Ledger ledger;
    private transient CountersByName unscoredByReason;

    public GroupTrajectories(ReadableConfig conf) {
        this.conf = conf;
        this.baselineDecay = conf.get(JobOptions.BASELINE_DECAY);
        if (!(baselineDecay >= 0 && baselineDecay <= 1)) {
            throw new IllegalArgumentException(JobOptions.BASELINE_DECAY.key() + " must be within [0, 1], was "
                    + baselineDecay + ": 0 forgets every earlier outcome at once, 1 keeps a plain running mean");
        }
        this.baselineTtlMillis = conf.get(JobOptions.BASELINE_TTL).toMillis();
        if (baselineTtlMillis <= 0) {
            // A task's expiry would fall on the timer that re-arms it, which would then fire for ever.
            throw new IllegalArgumentException(JobOptions.BASELINE_TTL.key() + " must be positive, was "
                    + conf.get(JobOptions.BASELINE_TTL) + ": set how long a task's baseline outlives its last"
                    + " trajectory, e.g. 24h");
        }
        this.expiryStepMillis = Math.max(1, baselineTtlMillis / 16);
        this.groupTimeoutMillis = conf.get(JobOptions.GROUP_TIMEOUT).toMillis();
        this.closedGroupRetentionMillis = conf.get(JobOptions.FINISHED_RETENTION).toMillis();
        this.forgetStepMillis = Math.max(1, closedGroupRetentionMillis / 16);
        this.partialGroups = conf.get(JobOptions.PARTIAL_GROUPS);
        this.maxPolicyLag = conf.getOptional(JobOptions.MAX_POLICY_LAG).orElse(null);
        if (maxPolicyLag != null && maxPolicyLag < 0) {
            throw new IllegalArgumentException(JobOptions.MAX_POLICY_LAG.key() + " must be 0 or more, was "
                    + maxPolicyLag + ": it is how many versions behind the task's newest a trajectory may be");
        }
    }

    @Override
    public void open(OpenContext openContext) {
        groupRelative = CreditConfig.from(conf).groupRelative();
        baseline = getRuntimeContext().getState(new ValueStateDescriptor<>("baseline", TaskBaseline.class));
        baselineExpiry = getRuntimeContext().getState(new ValueStateDescriptor<>("baseline-expiry", Long.class));
        newestPolicyVersion = getRuntimeContext().getState(new ValueStateDescriptor<>("newest-policy-version", Long.class));
        newestPolicyVersionFrom = getRuntimeContext().getState(
                new ValueStateDescriptor<>("newest-policy-version-from", StringKeys.Serializer.INSTANCE));
        newestPolicyVersionUntil = getRuntimeContext().getState(
                new ValueStateDescriptor<>("newest-policy-version-until", Long.class));
        pendingGroups = getRuntimeContext().getMapState(pendingGroupsDescriptor());
        closedGroups = getRuntimeContext().getMapState(
                new MapStateDescriptor<>("closed-groups", StringKeys.Serializer.INSTANCE, LongSerializer.INSTANCE));
        closeTimes = getRuntimeContext().getMapState(new MapStateDescriptor<>(
                "closed-group-close-times", StringKeys.Serializer.INSTANCE, LongSerializer.INSTANCE));
        nextForget = getRuntimeContext().getState(new ValueStateDescriptor<>("next-forget", Long.class));
        heldPastDeadline = getRuntimeContext().getListState(
                new ListStateDescriptor<>("held-past-deadline", new GroupStateSerializers.OfHeldMember()));

        MetricGroup metrics = getRuntimeContext().getMetricGroup().addGroup("grouping");
        groupsClosedBySize = metrics.counter("groupsClosedBySize");
        groupsClosedByTimeout = metrics.counter("groupsClosedByTimeout");
        groupSizeConflicts = metrics.counter("groupSizeConflicts");
        pendingGroupCount = metrics.gauge("pendingGroups", new OpenWork());
        groupWaitMs = metrics.histogram("groupWaitMs", new DescriptiveStatisticsHistogram(HISTOGRAM_WINDOW));
        // Every kind a trajectory carries, when grouping routes it unscored.
        ledger = new Ledger(getRuntimeContext().getMetricGroup()).counting(Way.UNSCORED);
        unscoredByReason = new CountersByName(metrics.addGroup("unscored"));
    }

    private static MapStateDescriptor<String, PendingGroup> pendingGroupsDescriptor() {
        return new MapStateDescriptor<>(
                "pending-groups", StringKeys.Serializer.INSTANCE, new GroupStateSerializers.OfPendingGroup());
    }

    @Override
    public long countOpenWork(KeyedStateBackend<?> backend) throws Exception {
        long[] groups = {0};
        backend.applyToAllKeys(VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE, pendingGroupsDescriptor(),
                (task, pending) -> pending.keys().forEach(group -> groups[0]++));
        return groups[0];
    }

    @Override
    public OpenWork openWork() {
        return pendingGroupCount;
    }

    @Override
    public void processElement(AssembledTrajectory trajectory, Context ctx, Collector<TrajectoryGroup> out) throws Exception {
        process(trajectory, ctx.timestamp(), ctx, out);
    }

    /**
     * A trajectory that completed at event time {@code timestamp}: as it arrives, or, held past its group's deadline,
     * when a timer of the task fires ({@link #releaseHeld}), where {@code ctx.timestamp()} is the timer's.
     */
    private void process(AssembledTrajectory trajectory, long timestamp, Context ctx, Collector<TrajectoryGroup> out)
            throws Exception {
        boolean waitedFor = groupRelative && trajectory.groupId() != null;
        // Read here once, for account as well: nothing before it changes the pending groups.
        PendingGroup group = waitedFor ? pendingGroups.get(trajectory.groupId()) : null;
        if (group != null && group.deadline() < timestamp) {
            // Read ahead of the watermark (a backfill), it completed after its group's wait: live it came after the
            // close. Judged now, by closing the group, members with earlier event times read after it (a slower
            // partition) would be LATE although on time; it waits for the deadline's timer, and is counted then.
            heldPastDeadline.add(new HeldMember(timestamp, trajectory));
            return;
        }
        touchTaskState(timestamp, ctx);
        if (isStale(trajectory, timestamp)) {
            ctx.output(UNSCORED, unscored(trajectory, UnscoredReason.STALE, staleDetail(trajectory), ctx));
            if (waitedFor) {
                account(trajectory, group, true, timestamp, ctx, out);
            }
            return;
        }
        if (!waitedFor) {
            out.collect(close(List.of(trajectory)));
            return;
        }
        if (trajectory.outcomeTimedOut()) {
            // Scored without its outcome, alone (job.outcome-timeout-policy): its group stops waiting for it.
            out.collect(close(List.of(trajectory)));
            account(trajectory, group, true, timestamp, ctx, out);
            return;
        }
        account(trajectory, group, false, timestamp, ctx, out);
    }

    /**
     * The members held past their group's deadline, once a timer of the task has fired and the groups due by it have
     * closed: in event-time order, each as it would have arrived then. One whose group still waits with a deadline
     * before its event time (a later round's group of the id, opened since) is held again, for that group's timer.
     */
    private void releaseHeld(Context ctx, Collector<TrajectoryGroup> out) throws Exception {
        List<HeldMember> held = new ArrayList<>();
        Iterable<HeldMember> stored = heldPastDeadline.get();
        if (stored != null) {
            stored.forEach(held::add);
        }
        if (held.isEmpty()) {
            return;
        }
        heldPastDeadline.clear(); // before processing them: those held again are added anew
        held.sort(Comparator.comparingLong(HeldMember::timestamp)); // stable: ties keep the order they were read in
        for (HeldMember member : held) {
            process(member.trajectory(), member.timestamp(), ctx, out);
        }
    }

    /**
     * Accounts for a member of a group: one that joins it, or one that went another way ({@code diverted}: stale, or
     * scored alone without its outcome), which the group then stops waiting for. Without the second, a group with one
     * stale member waited for its timeout and was then partial, however fast the rest came.
     *
     * @param group the member's pending group as {@link #process} read it; null when none waits
     * @param timestamp the member's event time (not the timer's, where a held member is released)
     */
    private void account(AssembledTrajectory trajectory, PendingGroup group, boolean diverted, long timestamp,
            Context ctx, Collector<TrajectoryGroup> out) throws Exception {
        String groupId = trajectory.groupId();
        Long closedAt = closeTime(groupId);
        if (closedAt != null && firstStepTime(trajectory) <= closedAt) {
            if (!diverted) {
                ctx.output(UNSCORED, unscored(trajectory, UnscoredReason.LATE, "group " + groupId
                        + " had already closed (at its group_size or after job.group-timeout) when this member"
                        + " completed; scored alone it would be a group of one", ctx));
            }
            return;
        }
        if (group != null && group.has(trajectory.trajectoryId())) {
            if (!diverted) {
                // Sent again after the assembler forgot the first copy (job.finished-retention): one copy is scored.
                ctx.output(UNSCORED, unscored(trajectory, UnscoredReason.LATE, "trajectory "
                        + trajectory.trajectoryId() + " is already waiting in group " + groupId
                        + "; this later copy is not scored", ctx));
            }
            return;
        }
        if (group == null) {
            // From the watermark at least, as closed() keeps its memory: a first member that completed behind it (an
            // input late within its trajectory's wait, or a drain) would otherwise open a group whose wait was over
            // already, and its siblings, completing as they should, would all be LATE.
            long deadline = plus(Math.max(timestamp, ctx.timerService().currentWatermark()), groupTimeoutMillis);
            ctx.timerService().registerEventTimeTimer(deadline);
            group = new PendingGroup(new ArrayList<>(), trajectory.groupSize(), deadline, new ArrayList<>());
            pendingGroupCount.opened();
        } else if (trajectory.groupSize() != group.expectedSize()) {
            // The group keeps the size its first member announced: its producers disagree, and no later member can
            // undo a close the first one's size caused. Counted, so that the LATE or partial groups it leads to have
            // a cause an operator can see.
            groupSizeConflicts.inc();
        }
        if (diverted) {
            group.diverted().add(trajectory.trajectoryId());
        } else {
            group.members().add(trajectory);
        }
        if (group.sizeKnown() && group.accountedFor() >= group.expectedSize()) {
            // The deadline's timer stays: another group of the task, or the task's expiry, may share it, and a
            // timer with nothing due fires as a no-op.
            pendingGroups.remove(groupId);
            groupsClosedBySize.inc();
            closed(groupId, group, timestamp, ctx.timerService());
            release(groupId, group, false, ctx, out);
        } else {
            pendingGroups.put(groupId, group);
        }
    }

    /**
     * Sends a closed group's members on: to be scored, or, when the group is short of its size and
     * {@code job.partial-groups=UNSCORED}, to the unscored topic. A group of unknown size is never short.
     */
    private void release(String groupId, PendingGroup group, boolean atTimeout, Context ctx,
            Collector<TrajectoryGroup> out) throws Exception {
        divertMembersThatWentStale(group, ctx);
        if (group.members().isEmpty()) {
            return; // every member went another way
        }
        boolean partial = group.sizeKnown() && group.members().size() < group.expectedSize();
        if (!partial || partialGroups == PartialGroupPolicy.SCORE) {
            out.collect(close(group.members()));
            return;
        }
        String why = (atTimeout ? " at its timeout" : "") + (group.diverted().isEmpty() ? ""
                : "; " + group.diverted().size() + " went another way (STALE, or scored without its outcome)");
        for (AssembledTrajectory member : group.members()) {
            ctx.output(UNSCORED, unscored(member, UnscoredReason.INCOMPLETE, "group " + groupId + " had "
                    + group.members().size() + " of " + group.expectedSize() + " trajectories" + why
                    + " (job.partial-groups=UNSCORED)", ctx));
        }
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<TrajectoryGroup> out) throws Exception {
        closeGroupsDueBy(timestamp, ctx, out);
        releaseHeld(ctx, out);
        Long forget = nextForget.value();
        if (forget != null && forget <= timestamp) {
            // One pass over the closed groups when the earliest is due, not at every timer: a pass at every timer
            // would cost a busy task the square of its groups.
            forgetClosedGroups(timestamp, ctx.timerService());
        }
        Long expiry = baselineExpiry.value();
        if (expiry != null && expiry <= timestamp) {
            if (pendingGroups.isEmpty()) {
                baseline.clear();
                baselineExpiry.clear();
                newestPolicyVersion.clear();
                newestPolicyVersionFrom.clear();
                newestPolicyVersionUntil.clear();
            } else {
                // Groups still wait under this task: keep its state one more TTL, from the watermark. From the timer's
                // time instead, a watermark far ahead (a drain's end of time) would fire it again and again, a TTL
                // at a time, until it passed the groups' deadlines.
                long later = plus(ctx.timerService().currentWatermark(), baselineTtlMillis);
                baselineExpiry.update(later);
                ctx.timerService().registerEventTimeTimer(later);
            }
        }
    }

    /**
     * Groups whose wait ended by {@code time}: each closes at its deadline, in the order of their deadlines (their
     * timers' order), and its members that came are scored (the partial-group policy).
     */
    private void closeGroupsDueBy(long time, Context ctx, Collector<TrajectoryGroup> out) throws Exception {
        List<Map.Entry<String, PendingGroup>> due = new ArrayList<>();
        for (Map.Entry<String, PendingGroup> entry : pendingGroups.entries()) {
            if (entry.getValue().deadline() <= time) {
                due.add(Map.entry(entry.getKey(), entry.getValue()));
            }
        }
        // Groups due at once close in an order of their own, not the state's: it differs between state backends.
        due.sort(Comparator.comparingLong((Map.Entry<String, PendingGroup> entry) -> entry.getValue().deadline())
                .thenComparing(Map.Entry::getKey));
        for (Map.Entry<String, PendingGroup> entry : due) {
            pendingGroups.remove(entry.getKey());
            groupsClosedByTimeout.inc();
            closed(entry.getKey(), entry.getValue(), entry.getValue().deadline(), ctx.timerService());
            release(entry.getKey(), entry.getValue(), true, ctx, out);
        }
    }

    /**
     * Books a group's close, at event time {@code closedAt}, and remembers it. The memory is kept from the watermark
     * at least: a close far behind it would otherwise be forgotten at once. Members that started after
     * {@code closedAt} open a new group, however far the watermark was ahead.
     */
    private void closed(String groupId, PendingGroup group, long closedAt, TimerService timers) throws Exception {
        pendingGroupCount.closed();
        groupWaitMs.update(Math.max(0, closedAt - (group.deadline() - groupTimeoutMillis)));
        long at = Math.max(closedAt, timers.currentWatermark());
        closedGroups.put(groupId, at);
        if (closedAt < at) {
            closeTimes.put(groupId, closedAt);
        } else {
            closeTimes.remove(groupId); // an earlier round's of the same id; the time in closedGroups is the close's
        }
        long forgetAt = forgetAt(at);
        Long next = nextForget.value();
        if (next == null || forgetAt < next) {
            nextForget.update(forgetAt);
        }
        timers.registerEventTimeTimer(forgetAt); // shared by the groups that close within the same step
    }

    /** The event time at which the group of that id closed, while it is remembered; null otherwise. */
    private Long closeTime(String groupId) throws Exception {
        Long keptFrom = closedGroups.get(groupId);
        if (keptFrom == null) {
            return null;
        }
        Long closedAt = closeTimes.get(groupId);
        return closedAt != null ? closedAt : keptFrom;
    }

    /**
     * When a group whose memory is kept from {@code keptFrom} is forgotten: on a multiple of the step, so that timers
     * are shared.
     */
    private long forgetAt(long keptFrom) {
        return roundUp(plus(keptFrom, closedGroupRetentionMillis), forgetStepMillis);
    }

    private void forgetClosedGroups(long now, TimerService timers) throws Exception {
        List<String> forgotten = new ArrayList<>();
        // Null while none is left, not the end of time: a group that closed during a drain is forgotten at the end
        // of time, and taken for none it was never forgotten.
        Long next = null;
        for (Map.Entry<String, Long> entry : closedGroups.entries()) {
            long forgetAt = forgetAt(entry.getValue());
            if (forgetAt <= now) {
                forgotten.add(entry.getKey());
            } else if (next == null || forgetAt < next) {
                next = forgetAt;
            }
        }
        for (String groupId : forgotten) {
            closedGroups.remove(groupId);
            closeTimes.remove(groupId);
        }
        if (next == null) {
            nextForget.clear();
        } else {
            nextForget.update(next);
            // Registered already, unless job.finished-retention changed since the groups closed (a restore).
            timers.registerEventTimeTimer(next);
        }
    }

    /**
     * A member is judged stale when it completes, against the newest version then; one that completed before a newer
     * version came, and waited for its group, is judged again when the group closes, so that what is scored does not
     * depend on the order in which members complete.
     */
    private void divertMembersThatWentStale(PendingGroup group, Context ctx) throws Exception {
        Long newest = maxPolicyLag == null ? null : newestPolicyVersion.value();
        if (newest == null) {
            return;
        }
        for (Iterator<AssembledTrajectory> members = group.members().iterator(); members.hasNext(); ) {
            AssembledTrajectory member = members.next();
            if (behind(newest, member)) {
                ctx.output(UNSCORED, unscored(member, UnscoredReason.STALE, staleDetail(member), ctx));
                members.remove();
                group.diverted().add(member.trajectoryId());
            }
        }
    }

    private String staleDetail(AssembledTrajectory trajectory) throws Exception {
        // Names the trajectory that brought the newest version: one step with a wrong, far too high version makes
        // every later trajectory of its task stale, and this is where an operator sees which producer sent it.
        return "oldest policy_version " + trajectory.minPolicyVersion() + " is more than " + maxPolicyLag + " behind "
                + newestPolicyVersion.value() + ", the newest of the task, " + newestFrom() + " (job.max-policy-lag)";
    }

    private String newestFrom() throws Exception {
        String from = newestPolicyVersionFrom.value();
        // State restored from a release that kept the version alone, until a newer version comes.
        return from != null ? "first seen in trajectory " + from : "recorded by an earlier release, without the trajectory that brought it";
    }

    /** When the trajectory began: the event time of its first step. */
    private static long firstStepTime(AssembledTrajectory trajectory) {
        return trajectory.steps().get(0).getEventTime().toEpochMilli();
    }

    /**
     * Whether the trajectory's oldest step is more than job.max-policy-lag behind the task's newest version. The
     * newest version holds for baseline.ttl of event time after the last trajectory that carried it: a far too high
     * version that no trajectory carries again is forgotten then, though the task's traffic (stale trajectories
     * included) keeps the task's baseline alive.
     */
    private boolean isStale(AssembledTrajectory trajectory, long timestamp) throws Exception {
        if (maxPolicyLag == null) {
            return false; // no filter: the versions are not kept
        }
        Long newest = newestPolicyVersion.value();
        long candidate = trajectory.maxPolicyVersion();
        if (newest != null && candidate < newest && newestHeldUntil(timestamp) < timestamp) {
            newest = null; // no trajectory carried it for a TTL: this one's newest version takes its place
        }
        if (newest == null || candidate > newest) {
            newestPolicyVersion.update(candidate);
            newestPolicyVersionFrom.update(trajectory.trajectoryId());
            newestPolicyVersionUntil.update(holdUntil(timestamp));
            newest = candidate;
        } else if (candidate == newest && newestHeldUntil(timestamp) < holdUntil(timestamp)) {
            newestPolicyVersionUntil.update(holdUntil(timestamp));
        }
        return behind(newest, trajectory);
    }

    /** Whether the trajectory's oldest step is more than job.max-policy-lag behind {@code newest}. */
    private boolean behind(long newest, AssembledTrajectory trajectory) {
        // Versions are 0 or more (INVALID_POLICY_VERSION): the difference cannot wrap.
        return newest - trajectory.minPolicyVersion() > maxPolicyLag;
    }

    /**
     * Until when the newest version holds, from a trajectory that carried it at {@code timestamp}: rounded up to a
     * sixteenth of the TTL, so that a busy task writes it once per step, not per trajectory.
     */
    private long holdUntil(long timestamp) {
        return roundUp(plus(timestamp, baselineTtlMillis), expiryStepMillis);
    }

    /** State of a release that kept no such time holds for a TTL from the first trajectory that reads it. */
    private long newestHeldUntil(long timestamp) throws Exception {
        Long until = newestPolicyVersionUntil.value();
        if (until == null) {
            until = holdUntil(timestamp);
            newestPolicyVersionUntil.update(until);
        }
        return until;
    }

    /** Counts {@code t} as unscored and says why. */
    private UnscoredTrajectory unscored(AssembledTrajectory t, UnscoredReason reason, String detail, Context ctx) {
        ledger.count(t, Way.UNSCORED);
        unscoredByReason.inc(reason.name());
        return t.unscored(reason, detail, Instant.ofEpochMilli(ctx.timerService().currentProcessingTime()));
    }

    /**
     * Every trajectory pushes the task state's expiry forward: a task not seen for {@code baseline.ttl} of event
     * time (up to a sixteenth more) is forgotten (its baseline and newest policy version).
     *
     * <p>The expiry moves in steps of a sixteenth of the TTL, and a timer is only added, never moved: a busy task
     * touches its timers and its expiry once per step instead of deleting and adding a timer per trajectory.
     * The timers an expiry leaves behind fire as no-ops, at most sixteen per TTL; not deleting them also means
     * never deleting a group's deadline that happens to fall on the same millisecond.
     */
    private void touchTaskState(long timestamp, Context ctx) throws Exception {
        Long expiry = baselineExpiry.value();
        long next = roundUp(plus(timestamp, baselineTtlMillis), expiryStepMillis);
        if (expiry != null && expiry >= next) {
            return;
        }
        ctx.timerService().registerEventTimeTimer(next);
        baselineExpiry.update(next);
    }

    /** Rounded up to a multiple of {@code step}; the end of time stays where it is. */
    private static long roundUp(long time, long step) {
        long rounded = Math.floorDiv(time, step) * step;
        return rounded >= time ? rounded : plus(rounded, step);
    }

    /**
     * Closes a unit: it is scored against the baseline as it stands, and only then do the unit's
     * outcomes move the baseline.
     */
    private TrajectoryGroup close(List<AssembledTrajectory> members) throws Exception {
        TaskBaseline current = baseline.value();
        if (current == null) {
            current = TaskBaseline.NONE;
        }
        TrajectoryGroup unit = new TrajectoryGroup(members, current.mean());
        for (AssembledTrajectory member : members) {
            if (!member.outcomeTimedOut()) { // a placeholder outcome must not move the baseline
                current = current.update(member.outcome().getReward(), baselineDecay);
            }
        }
        baseline.update(current);
        return unit;
    }

    /**
     * A member read before the watermark passed its pending group's deadline, with an event time past it: read ahead
     * (a backfill reads partitions at different speeds), it would have come after the group's close live. It waits
     * until a timer of the task fires after the close; members with earlier event times read after it still join.
     *
     * @param timestamp the member's event time (its record's timestamp), with which it is processed when released
     */
    public record HeldMember(long timestamp, AssembledTrajectory trajectory) {}

    /**
     * Trajectories of one group that completed, waiting for the rest. A group whose steps carry no
     * {@code group_size} (0 here) has no size to wait for: it closes at its deadline with the members that came,
     * scored whatever {@code job.partial-groups} says (it is not partial: nothing more was promised).
     * {@code diverted} names the members that completed but went another way (STALE, or scored alone without their
     * outcome): they count towards the size, so the group closes once every member is accounted for.
     */
    public record PendingGroup(
            List<AssembledTrajectory> members, int expectedSize, long deadline, List<String> diverted) {
        public PendingGroup {
            // A savepoint of the POJO layout, from releases before diverted members were counted, has none.
            diverted = diverted == null ? new ArrayList<>() : diverted;
        }

        boolean sizeKnown() {
            return expectedSize > 0;
        }

        /** Members that came, and those that went another way: the group waits for the rest. */
        int accountedFor() {
            return members.size() + diverted.size();
        }

        boolean has(String trajectoryId) {
            for (AssembledTrajectory member : members) {
                if (member.trajectoryId().equals(trajectoryId)) {
                    return true;
                }
            }
            return diverted.contains(trajectoryId);
        }
    }
}
