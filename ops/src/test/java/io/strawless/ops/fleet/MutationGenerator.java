package io.strawless.ops.fleet;

import io.strawless.connectors.serde.SingleObjectHeader;
import io.strawless.pipeline.assembly.InputValidator;
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
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.apache.avro.specific.SpecificRecordBase;

/**
 * Bad input at volume: the records a production fleet should never send but one day will, mixed into a
 * fleet's good traffic. Seeded: the same seed and good traffic give the same mutations.
 *
 * <p>Every mutated record is made from a valid event of a trajectory of its own, with a random 32-hex-digit
 * id that no good trajectory has and no other mutated record shares, so a mutation can never complete, join
 * or disturb a good trajectory, even when flipped bits leave it decodable: a single record of a trajectory
 * can only be dead-lettered or end unscored. (A bit flipped in the id's length prefix reads the id longer, or
 * empty, never as a short prefix that two records could share.) Its event time is the time of the good record
 * it follows.
 */
public final class MutationGenerator {

  /** What is wrong with a record. */
  public enum Mutation {
    /** A valid encoding cut short. */
    TRUNCATED,
    /** One bit flipped in each of one to three bytes anywhere in a valid encoding, header included: anything may come of it. */
    FLIPPED_BITS,
    /** A valid body behind a writer-schema fingerprint that no schema version has. */
    UNKNOWN_FINGERPRINT,
    /** Random bytes, not even the single-object header. */
    GARBAGE,
    /** A tombstone: a key and no value. */
    NULL_VALUE,
    /** A valid event on another event's topic (an outcome on the steps topic...). */
    WRONG_TOPIC,
    /** NaN or an infinity in a number the job computes with. */
    NON_FINITE,
    /** A verdict whose score lies outside [0, 1] (a verifier scoring 0 to 10, or -1 to 1). */
    SCORE_OUT_OF_RANGE,
    /** A step or verdict with a negative step index. */
    NEGATIVE_STEP_INDEX,
    /** A step or verdict with a step index far beyond any trajectory's length. */
    HUGE_STEP_INDEX,
    /** A step with more inline token ids than the job accepts, or a payload reference too long. */
    OVERSIZED_PAYLOAD,
    /** A valid outcome for a trajectory that never sends a step. */
    UNKNOWN_TRAJECTORY_OUTCOME,
    /** A valid verdict for a trajectory that never sends a step. */
    UNKNOWN_TRAJECTORY_VERDICT
  }

  /** One mutated record as sent. */
  public record MutatedRecord(Mutation mutation, FleetRecord record) {}

  /**
   * Good traffic with mutations mixed in.
   *
   * @param script  every record in send order; its ledger is the good traffic's alone
   * @param mutated the mutated records, in send order
   */
  public record MixedTraffic(FleetScript script, List<MutatedRecord> mutated) {
    public long mutated(Mutation mutation) {
      return mutated.stream().filter(m -> m.mutation() == mutation).count();
    }
  }

  private static final HexFormat HEX = HexFormat.of();

  private final Random random;
  private final int maxTokensPerStep;

  /**
   * @param seed             seed of every choice
   * @param maxTokensPerStep the job's {@code job.max-tokens-per-step}: oversized steps carry a few more.
   *                         Keep it small in tests; the default (32,768) makes each such record ~100 kB
   */
  public MutationGenerator(long seed, int maxTokensPerStep) {
    this.random = new Random(seed);
    this.maxTokensPerStep = maxTokensPerStep;
  }

  /** Mixes {@code count} mutated records, of every kind in equal shares, into {@code good}'s records. */
  public MixedTraffic mixInto(FleetScript good, int count) {
    List<Mutation> kinds = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      kinds.add(Mutation.values()[i % Mutation.values().length]);
    }
    Collections.shuffle(kinds, random);
    // Where each mutation goes: right after the good record at this index, at that record's time.
    List<FleetRecord> goodRecords = good.records();
    int[] after = new int[count];
    for (int i = 0; i < count; i++) {
      after[i] = random.nextInt(goodRecords.size());
    }
    Arrays.sort(after);

    List<FleetRecord> records = new ArrayList<>(goodRecords.size() + count);
    List<MutatedRecord> mutated = new ArrayList<>(count);
    int next = 0;
    for (int index = 0; index < goodRecords.size(); index++) {
      FleetRecord goodRecord = goodRecords.get(index);
      records.add(goodRecord);
      for (; next < count && after[next] == index; next++) {
        MutatedRecord m = new MutatedRecord(kinds.get(next), mutate(kinds.get(next), goodRecord.timestamp()));
        records.add(m.record());
        mutated.add(m);
      }
    }
    return new MixedTraffic(new FleetScript(List.copyOf(records), good.ledger()), List.copyOf(mutated));
  }

  private FleetRecord mutate(Mutation mutation, long time) {
    String id = HEX.formatHex(bytes(16));
    byte[] key = id.getBytes(StandardCharsets.UTF_8);
    InputTopic topic = InputTopic.values()[random.nextInt(InputTopic.values().length)];
    return switch (mutation) {
      case TRUNCATED -> new FleetRecord(topic, time, key, FleetScript.truncated(encode(event(topic, id, time)), random));
      case FLIPPED_BITS -> {
        byte[] value = encode(event(topic, id, time));
        // One bit in each of one to three bytes: two flips in the id's length byte could shorten it to a
        // few characters that two records might share, and the second would pass for a revision of the first.
        List<Integer> positions = new ArrayList<>();
        for (int i = 0; i < value.length; i++) {
          positions.add(i);
        }
        Collections.shuffle(positions, random);
        for (int position : positions.subList(0, Math.min(value.length, 1 + random.nextInt(3)))) {
          value[position] ^= (byte) (1 << random.nextInt(8));
        }
        yield new FleetRecord(topic, time, key, value);
      }
      case UNKNOWN_FINGERPRINT -> {
        byte[] value = encode(event(topic, id, time));
        System.arraycopy(bytes(8), 0, value, 2, SingleObjectHeader.LENGTH - 2); // all of the header after C3 01
        yield new FleetRecord(topic, time, key, value);
      }
      case GARBAGE -> new FleetRecord(topic, time, key, FleetScript.garbage(random, 200));
      case NULL_VALUE -> new FleetRecord(topic, time, key, null);
      case WRONG_TOPIC -> {
        InputTopic other = InputTopic.values()[(topic.ordinal() + 1 + random.nextInt(2)) % InputTopic.values().length];
        yield new FleetRecord(other, time, key, encode(event(topic, id, time)));
      }
      case NON_FINITE -> nonFinite(topic, id, key, time);
      case SCORE_OUT_OF_RANGE -> {
        double offScale = random.nextBoolean() ? 1.5 + 8.5 * random.nextDouble() : -0.5 - random.nextDouble();
        VerifierSignal verdict = VerifierSignal.newBuilder(verdict(id, time)).setScore(offScale).build();
        yield new FleetRecord(InputTopic.VERDICTS, time, key, encode(verdict));
      }
      case NEGATIVE_STEP_INDEX -> stepIndexed(topic, id, key, time, -1 - random.nextInt(Integer.MAX_VALUE));
      case HUGE_STEP_INDEX -> stepIndexed(topic, id, key, time, 1_000_000 + random.nextInt(Integer.MAX_VALUE - 1_000_000));
      case OVERSIZED_PAYLOAD -> {
        StepEvent.Builder step = StepEvent.newBuilder(step(id, time));
        if (random.nextBoolean()) {
          step.setTokenIds(tokens(maxTokensPerStep + 1 + random.nextInt(16)));
        } else {
          step.setPayloadRef("s3://fleet/" + "x".repeat(InputValidator.MAX_PAYLOAD_REF_LENGTH + random.nextInt(1024)));
        }
        yield new FleetRecord(InputTopic.STEPS, time, key, encode(step.build()));
      }
      case UNKNOWN_TRAJECTORY_OUTCOME -> new FleetRecord(InputTopic.OUTCOMES, time, key, encode(outcome(id, time)));
      case UNKNOWN_TRAJECTORY_VERDICT -> new FleetRecord(InputTopic.VERDICTS, time, key, encode(verdict(id, time)));
    };
  }

  private FleetRecord nonFinite(InputTopic topic, String id, byte[] key, long time) {
    double bad = switch (random.nextInt(3)) {
      case 0 -> Double.NaN;
      case 1 -> Double.POSITIVE_INFINITY;
      default -> Double.NEGATIVE_INFINITY;
    };
    SpecificRecordBase event = switch (topic) {
      case STEPS -> {
        StepEvent.Builder step = StepEvent.newBuilder(step(id, time));
        switch (random.nextInt(3)) {
          case 0 -> step.setReward(bad);
          case 1 -> step.setValue(bad);
          default -> step.setLogprob(bad);
        }
        yield step.build();
      }
      case OUTCOMES -> OutcomeEvent.newBuilder(outcome(id, time)).setReward(bad).build();
      case VERDICTS -> random.nextBoolean()
          ? VerifierSignal.newBuilder(verdict(id, time)).setScore(bad).build()
          : VerifierSignal.newBuilder(verdict(id, time)).setConfidence(bad).build();
    };
    return new FleetRecord(topic, time, key, encode(event));
  }

  /** A step or (on the verdicts topic) a verdict with the given step index. */
  private FleetRecord stepIndexed(InputTopic topic, String id, byte[] key, long time, int stepIndex) {
    if (topic == InputTopic.VERDICTS) {
      return new FleetRecord(topic, time, key,
          encode(VerifierSignal.newBuilder(verdict(id, time)).setStepIndex(stepIndex).build()));
    }
    return new FleetRecord(InputTopic.STEPS, time, key,
        encode(StepEvent.newBuilder(step(id, time)).setStepIndex(stepIndex).build()));
  }

  private SpecificRecordBase event(InputTopic topic, String id, long time) {
    return switch (topic) {
      case STEPS -> step(id, time);
      case OUTCOMES -> outcome(id, time);
      case VERDICTS -> verdict(id, time);
    };
  }

  private StepEvent step(String id, long time) {
    boolean terminal = random.nextInt(4) == 0;
    String task = "fuzz-task-" + random.nextInt(50);
    return StepEvent.newBuilder()
        .setTrajectoryId(id)
        .setStepIndex(terminal ? 0 : random.nextInt(20))
        .setAgentId("fuzz-agent-" + random.nextInt(100))
        .setTaskId(task)
        .setGroupId(task + "/sampling-" + random.nextInt(1000))
        .setGroupSize(4)
        .setPolicyVersion(1 + random.nextInt(10))
        .setEventTime(Instant.ofEpochMilli(time))
        .setTrainable(random.nextBoolean())
        .setLogprob(-5 * random.nextDouble())
        .setTokenIds(tokens(4 + random.nextInt(13)))
        .setTerminal(terminal ? TerminalKind.TERMINATED : TerminalKind.NONE)
        .build();
  }

  private OutcomeEvent outcome(String id, long time) {
    boolean success = random.nextBoolean();
    return OutcomeEvent.newBuilder()
        .setTrajectoryId(id)
        .setReward(success ? 1.0 : 0.0)
        .setSuccess(success)
        .setSource("fuzz")
        .setEventTime(Instant.ofEpochMilli(time))
        .build();
  }

  private VerifierSignal verdict(String id, long time) {
    return VerifierSignal.newBuilder()
        .setTrajectoryId(id)
        .setStepIndex(random.nextInt(20))
        .setVerifierId("fuzz-checker")
        .setScore(random.nextDouble())
        .setConfidence(random.nextDouble())
        .setEventTime(Instant.ofEpochMilli(time))
        .build();
  }

  private List<Integer> tokens(int count) {
    List<Integer> tokens = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      tokens.add(random.nextInt(50_000));
    }
    return tokens;
  }

  private byte[] bytes(int count) {
    byte[] bytes = new byte[count];
    random.nextBytes(bytes);
    return bytes;
  }

  /** Avro single-object encoding, the wire format of every Strawless topic. */
  private static byte[] encode(SpecificRecordBase event) {
    try {
      ByteBuffer buffer;
      if (event instanceof StepEvent step) {
        buffer = step.toByteBuffer();
      } else if (event instanceof OutcomeEvent outcome) {
        buffer = outcome.toByteBuffer();
      } else {
        buffer = ((VerifierSignal) event).toByteBuffer();
      }
      byte[] bytes = new byte[buffer.remaining()];
      buffer.get(bytes);
      return bytes;
    } catch (IOException e) {
      throw new UncheckedIOException("encoding a generated record failed", e);
    }
  }
}
