package io.strawless.ops.bench;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordingFile;

/**
 * A Java Flight Recorder recording of where this JVM spends its CPU during a measured window: execution
 * samples only (every {@link #SAMPLE_PERIOD} per running Java thread), so its own cost stays small. The
 * summary is what {@code jfr print --events jdk.ExecutionSample} followed by counting would give: the methods
 * on top of the sampled stacks (self time), the Strawless methods anywhere on them (time under each), and the
 * threads the samples fell on.
 */
final class Profile {

  private static final Duration SAMPLE_PERIOD = Duration.ofMillis(10);
  private static final String EXECUTION_SAMPLE = "jdk.ExecutionSample";
  private static final String OWN_CODE = "io.strawless.";

  /** A frame or thread and the share of samples it was in. */
  record Entry(String name, long samples, double share) {}

  /**
   * @param file      the recording, for {@code jfr print} or JDK Mission Control
   * @param self      methods on top of the stack, most sampled first
   * @param strawless Strawless methods anywhere on the stack, most sampled first
   * @param threads   thread names (digits folded to #), most sampled first
   */
  record Summary(String file, long samples, List<Entry> self, List<Entry> strawless, List<Entry> threads) {}

  private final Recording recording = new Recording();

  private Profile() {
    recording.enable(EXECUTION_SAMPLE).withPeriod(SAMPLE_PERIOD);
    recording.setToDisk(true);
  }

  /**
   * Starts Flight Recorder and stops it again. In this JVM its first start made the JIT compiler redo much of its
   * work, and the run it recorded was several times slower than without it; started once before the warm-up, that
   * cost falls there.
   */
  static void startRecorder() {
    try (Recording warmUp = new Recording()) {
      warmUp.enable(EXECUTION_SAMPLE).withPeriod(SAMPLE_PERIOD);
      warmUp.start();
      warmUp.stop();
    }
  }

  static Profile start() {
    Profile profile = new Profile();
    profile.recording.start();
    return profile;
  }

  /** Stops the recording, writes it to {@code file} and summarises its {@code top} entries of each kind. */
  Summary stop(Path file, int top) throws IOException {
    recording.stop();
    recording.dump(file);
    recording.close();
    Map<String, Long> self = new HashMap<>();
    Map<String, Long> strawless = new HashMap<>();
    Map<String, Long> threads = new HashMap<>();
    long samples = 0;
    for (RecordedEvent event : RecordingFile.readAllEvents(file)) {
      RecordedStackTrace stack = event.getStackTrace();
      if (!event.getEventType().getName().equals(EXECUTION_SAMPLE) || stack == null || stack.getFrames().isEmpty()) {
        continue;
      }
      samples++;
      List<RecordedFrame> frames = stack.getFrames();
      self.merge(method(frames.get(0)), 1L, Long::sum);
      Set<String> seen = new HashSet<>(); // a recursive method counts once per sample
      for (RecordedFrame frame : frames) {
        String method = method(frame);
        if (method.startsWith(OWN_CODE) && seen.add(method)) {
          strawless.merge(method, 1L, Long::sum);
        }
      }
      String thread = event.getThread("sampledThread") == null ? "?" : event.getThread("sampledThread").getJavaName();
      threads.merge(thread == null ? "?" : thread.replaceAll("\\d+", "#"), 1L, Long::sum);
    }
    return new Summary(file.toString(), samples, top(self, samples, top), top(strawless, samples, top),
        top(threads, samples, top));
  }

  private static String method(RecordedFrame frame) {
    return frame.getMethod().getType().getName() + "." + frame.getMethod().getName();
  }

  private static List<Entry> top(Map<String, Long> counts, long samples, int top) {
    return counts.entrySet().stream()
        .sorted(Map.Entry.<String, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
        .limit(top)
        .map(e -> new Entry(e.getKey(), e.getValue(), samples == 0 ? 0 : (double) e.getValue() / samples))
        .toList();
  }

  /** The summary as the report prints it. */
  static void print(Summary summary, PrintWriter out) {
    out.printf("Profile (%,d execution samples, %s):%n", summary.samples(), summary.file());
    section(out, "on top of the stack (self)", summary.self());
    section(out, "Strawless methods on the stack (total)", summary.strawless());
    section(out, "threads", summary.threads());
    out.flush();
  }

  private static void section(PrintWriter out, String title, List<Entry> entries) {
    out.println("  " + title + ":");
    for (Entry e : entries) {
      out.printf("    %5.1f%%  %s%n", 100 * e.share(), e.name());
    }
  }
}
