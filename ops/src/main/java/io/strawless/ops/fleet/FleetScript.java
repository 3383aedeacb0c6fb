package io.strawless.ops.fleet;

import io.strawless.ops.fleet.FleetLedger.GroundTruth;
import io.strawless.ops.fleet.FleetLedger.MalformedRecord;
import io.strawless.ops.fleet.FleetLedger.SentTrajectory;
import io.strawless.ops.fleet.FleetLedger.SentVerdict;
import io.strawless.ops.fleet.FleetSettings.VerifierProfile;
import io.strawless.schemas.OutcomeEvent;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TerminalKind;
import io.strawless.schemas.VerifierSignal;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.Random;
import java.util.function.LongFunction;

/**
 * The fleet's whole run, decided up front from the seed: every record it will send, in send order, and the
 * ledger of what those records mean. Deciding first and sending second makes a run reproducible (same
 * seed and end, same records) and gives tests an oracle that does not depend on Kafka.
 *
 * <p>Each agent works through its trajectories one after another on its own clock. The timeline ends at the
 * given instant, as if the agents had been working until then: event times lie in the recent past, never in
 * the future (brokers and the job refuse records too far ahead of their clocks). Records are sent in
 * event-time order across all agents, so an outcome, which comes a while after its trajectory's last step,
 * is also sent after it.
 *
 * <p>Two random streams, both from the seed, keep the ground truth out of what the job sees: one decides
 * everything about a record's form (timing, ids, tool steps, tokens, which steps the verifiers judge and
 * when), the other everything about quality (competence, good and bad steps, reward hacking, success, what
 * each verdict says). Whatever the quality, the step records come out byte for byte the same; quality shows
 * only where it is meant to, in outcomes and in verdict scores.
 */
public record FleetScript(List<FleetRecord> records, FleetLedger ledger) {

  /** Share of the steps between the first and the last that are tool output rather than policy actions. */
  private static final double TOOL_OUTPUT_SHARE = 0.35;
  /** The synthetic policy is "retrained" this often; steps carry the version they were produced with. */
  private static final long POLICY_UPDATE_MILLIS = 20_000;
  private static final int VOCABULARY = 50_000;
  /** First byte of Avro single-object encoding; garbage must not start with it by chance. */
  private static final byte SINGLE_OBJECT_MARKER = (byte) 0xC3;
  /** How far an agent's competence on a task strays from the task's typical competence (standard deviation). */
  private static final double COMPETENCE_SPREAD = 0.15;
  /** Chance that a reward hack's step is good: nearly all of its steps are bad, yet it succeeds. */
  private static final double HACK_GOOD_STEP_RATE = 0.05;
  /** Set apart the quality stream's seed from the form stream's. */
  private static final long QUALITY_STREAM = 0x9E3779B97F4A7C15L;

  public static FleetScript generate(FleetSettings settings, Instant end) {
    return new Generator(settings).generate(end.toEpochMilli());
  }

  public long recordsOn(InputTopic topic) {
    return records.stream().filter(r -> r.topic() == topic).count();
  }

  /** One to {@code maxLength} random bytes that do not even start like a single-object header. */
  static byte[] garbage(Random random, int maxLength) {
    byte[] bytes = new byte[1 + random.nextInt(maxLength)];
    random.nextBytes(bytes);
    if (bytes[0] == SINGLE_OBJECT_MARKER) {
      bytes[0] = 0;
    }
    return bytes;
  }

  /** {@code valid} cut short: at least its first byte, never all of it. */
  static byte[] truncated(byte[] valid, Random random) {
    return Arrays.copyOf(valid, 1 + random.nextInt(valid.length - 1));
  }

  private static final class Generator {
    /**
     * A record whose place on the timeline is known (milliseconds after the timeline's start) but whose
     * absolute event time is not yet: it is encoded once the timeline's length, and so its start, is known.
     */
    private record Planned(InputTopic topic, long offset, byte[] key, LongFunction<byte[]> encodeAt) {}

    private final FleetSettings settings;
    /** Decides the form of the records. */
    private final Random random;
    /** Decides quality: what the job must find out. */
    private final Random quality;
    private final long[] agentClock;
    /** Typical chance that an agent's step on the task is good. */
    private final double[] taskCompetence;
    private final List<Planned> planned = new ArrayList<>();
    private final Map<String, SentTrajectory> trajectories = new LinkedHashMap<>();

    Generator(FleetSettings settings) {
      this.settings = settings;
      this.random = new Random(settings.seed());
      this.quality = new Random(settings.seed() ^ QUALITY_STREAM);
      this.agentClock = new long[settings.agents()];
      for (int agent = 0; agent < agentClock.length; agent++) {
        agentClock[agent] = random.nextInt(1_000);
      }
      this.taskCompetence = new double[settings.tasks()];
      for (int task = 0; task < taskCompetence.length; task++) {
        taskCompetence[task] = 0.3 + 0.5 * quality.nextDouble(); // from hard tasks to easy ones
      }
    }

    FleetScript generate(long end) {
      int index = 0;
      for (int round = 0; index < settings.trajectories(); round++) {
        for (int task = 0; task < settings.tasks() && index < settings.trajectories(); task++) {
          // The last sampling may be cut short by the run length; its group size says so.
          int groupSize = Math.min(settings.groupSize(), settings.trajectories() - index);
          String groupId = taskId(task) + "/sampling-" + round;
          for (int member = 0; member < groupSize; member++, index++) {
            trajectory(index, task, groupId, groupSize);
          }
        }
      }
      planned.sort(Comparator.comparingLong(Planned::offset)); // stable: ties keep generation order
      long start = end - planned.get(planned.size() - 1).offset();
      List<FleetRecord> records = new ArrayList<>(planned.size());
      List<MalformedRecord> malformed = new ArrayList<>();
      for (Planned record : planned) {
        long time = start + record.offset();
        byte[] value = record.encodeAt().apply(time);
        records.add(new FleetRecord(record.topic(), time, record.key(), value));
        // Now and then a producer bug: a malformed sibling on the same topic at the same time.
        if (random.nextDouble() < settings.malformedShare()) {
          MalformedRecord bad = random.nextBoolean()
              ? new MalformedRecord(record.topic(), record.key(), garbage(random, 64), MalformedRecord.Kind.GARBAGE)
              : new MalformedRecord(record.topic(), record.key(), truncated(value, random), MalformedRecord.Kind.TRUNCATED);
          malformed.add(bad);
          records.add(new FleetRecord(bad.topic(), time, bad.key(), bad.value()));
        }
      }
      return new FleetScript(List.copyOf(records), new FleetLedger(trajectories, List.copyOf(malformed)));
    }

    private void trajectory(int index, int task, String groupId, int groupSize) {
      int agent = index % settings.agents();
      // Locale.ROOT: ASCII digits on any machine, so that the same seed sends the same records everywhere.
      String trajectoryId = String.format(Locale.ROOT, "traj-%06d", index);
      String agentId = String.format(Locale.ROOT, "agent-%03d", agent);
      byte[] key = trajectoryId.getBytes(StandardCharsets.UTF_8);
      int stepCount = settings.minSteps() + random.nextInt(settings.maxSteps() - settings.minSteps() + 1);

      boolean rewardHack = quality.nextDouble() < settings.rewardHackShare();
      // No honest agent is hopeless or flawless at a task: its competence stays within [0.05, 0.95].
      double competence = rewardHack ? HACK_GOOD_STEP_RATE
          : Math.min(0.95, Math.max(0.05, taskCompetence[task] + COMPETENCE_SPREAD * quality.nextGaussian()));

      long time = agentClock[agent];
      long policyVersion = 1 + time / POLICY_UPDATE_MILLIS;
      List<Boolean> trainable = new ArrayList<>(stepCount);
      List<Boolean> good = new ArrayList<>(stepCount);
      long[] stepTimes = new long[stepCount];
      for (int i = 0; i < stepCount; i++) {
        time += 20 + random.nextInt(180);
        boolean last = i == stepCount - 1;
        // The policy acts first and last; in between some steps are tool output it did not produce.
        boolean policyStep = i == 0 || last || random.nextDouble() >= TOOL_OUTPUT_SHARE;
        trainable.add(policyStep);
        good.add(policyStep && quality.nextDouble() < competence);
        stepTimes[i] = time;
        StepEvent.Builder step = StepEvent.newBuilder()
            .setTrajectoryId(trajectoryId)
            .setStepIndex(i)
            .setAgentId(agentId)
            .setTaskId(taskId(task))
            .setGroupId(groupId)
            .setGroupSize(groupSize)
            .setPolicyVersion(policyVersion)
            .setTrainable(policyStep)
            .setLogprob(policyStep ? -5 * random.nextDouble() : null)
            .setTokenIds(policyStep ? tokens() : null)
            .setTerminal(last ? TerminalKind.TERMINATED : TerminalKind.NONE);
        planned.add(new Planned(InputTopic.STEPS, time, key,
            at -> encode(step.setEventTime(Instant.ofEpochMilli(at)).build()::toByteBuffer)));
      }

      long policySteps = trainable.stream().filter(t -> t).count();
      double goodShare = good.stream().filter(g -> g).count() / (double) policySteps;
      boolean success = rewardHack || goodShare + settings.outcomeNoise() * quality.nextGaussian() >= 0.5;
      double reward = success ? 1.0 : 0.0;
      long outcomeTime = time + 200 + random.nextInt(2_800);
      List<SentVerdict> verdicts = random.nextDouble() < settings.verdictShare()
          ? verdicts(trajectoryId, key, trainable, good, stepTimes)
          : List.of();
      boolean outcomeSent = random.nextDouble() >= settings.missingOutcomeShare();
      if (outcomeSent) {
        OutcomeEvent.Builder outcome = OutcomeEvent.newBuilder()
            .setTrajectoryId(trajectoryId)
            .setReward(reward)
            .setSuccess(success)
            .setSource("synthetic-fleet");
        planned.add(new Planned(InputTopic.OUTCOMES, outcomeTime, key,
            at -> encode(outcome.setEventTime(Instant.ofEpochMilli(at)).build()::toByteBuffer)));
      }
      trajectories.put(trajectoryId, new SentTrajectory(trajectoryId, agentId, taskId(task), groupId, groupSize,
          List.copyOf(trainable), outcomeSent ? OptionalDouble.of(reward) : OptionalDouble.empty(), verdicts,
          new GroundTruth(List.copyOf(good), rewardHack)));
      // The agent does not wait for the outcome: it starts its next trajectory after a short pause.
      agentClock[agent] = time + random.nextInt(500);
    }

    /**
     * Each verifier's verdicts on the policy steps it covers, each sent a delay after its step (possibly after
     * the outcome: then it may reach the job too late to count).
     */
    private List<SentVerdict> verdicts(String trajectoryId, byte[] key, List<Boolean> trainable, List<Boolean> good,
        long[] stepTimes) {
      List<SentVerdict> sent = new ArrayList<>();
      for (int step = 0; step < trainable.size(); step++) {
        if (!trainable.get(step)) {
          continue;
        }
        for (VerifierProfile verifier : settings.verifiers()) {
          if (random.nextDouble() >= verifier.coverage()) {
            continue;
          }
          long time = stepTimes[step] + 1 + random.nextLong(2 * verifier.meanDelay().toMillis() + 1);
          double confidence = 0.5 + 0.5 * random.nextDouble();
          boolean saidGood = good.get(step)
              ? quality.nextDouble() < verifier.sensitivity()
              : quality.nextDouble() >= verifier.specificity();
          VerifierSignal.Builder signal = VerifierSignal.newBuilder()
              .setTrajectoryId(trajectoryId)
              .setStepIndex(step)
              .setVerifierId(verifier.id())
              .setScore(saidGood ? 0.55 + 0.45 * quality.nextDouble() : 0.45 * quality.nextDouble())
              .setConfidence(confidence);
          planned.add(new Planned(InputTopic.VERDICTS, time, key,
              at -> encode(signal.setEventTime(Instant.ofEpochMilli(at)).build()::toByteBuffer)));
          sent.add(new SentVerdict(step, verifier.id(), saidGood));
        }
      }
      return sent;
    }

    private List<Integer> tokens() {
      int count = settings.tokensPerStep() > 0 ? settings.tokensPerStep() : 4 + random.nextInt(13);
      List<Integer> tokens = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        tokens.add(random.nextInt(VOCABULARY));
      }
      return tokens;
    }

    private static String taskId(int task) {
      return String.format(Locale.ROOT, "task-%03d", task);
    }

    /** Avro single-object encoding, the wire format of every Strawless topic. */
    private static byte[] encode(SingleObjectEncoding encoding) {
      try {
        ByteBuffer buffer = encoding.encode();
        byte[] bytes = new byte[buffer.remaining()];
        buffer.get(bytes);
        return bytes;
      } catch (IOException e) {
        throw new UncheckedIOException("encoding a generated record failed", e);
      }
    }

    private interface SingleObjectEncoding {
      ByteBuffer encode() throws IOException;
    }
  }
}
