package io.strawless.ops.demo;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.broker.EmbeddedKafka;
import io.strawless.ops.fleet.FleetScript;
import io.strawless.ops.fleet.FleetSettings;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.TrainingBatch;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;

class ScratchDrillDiagnosisTest {

  @Test
  void diagnose() throws Exception {
    for (int round = 0; round < Integer.getInteger("rounds", 2); round++) {
      try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
        Configuration conf = new Configuration();
        conf.set(KafkaOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        conf.set(CoreOptions.DEFAULT_PARALLELISM, 2);
        ExactlyOnceCheck.configureOracleCredit(conf);
        conf.setString("credit.backend", "java");
        FleetSettings fleet = new FleetSettings(100, 60, 6_700, 4, 3, 12, 0.005, 0.03, 0.25, 42);
        DemoRun.Result result = DemoRun.run(conf, FleetScript.generate(fleet, Instant.now()), new DemoRun.Faults(Integer.getInteger("failures", 3), Boolean.parseBoolean(System.getProperty("resume", "true"))),
            line -> System.out.println("DIAG " + line));
        ExactlyOnceCheck check = ExactlyOnceCheck.of(result.script().ledger(), result.output(), conf);
        System.out.println("DIAG round " + round + " " + check + " unscored=" + result.output().unscored().size()
            + " restarts=" + result.restarts() + " resumedAfter=" + result.resumedAfter());
        Map<String, Integer> lastIndex = new HashMap<>();
        List<io.strawless.ops.fleet.FleetRecord> recs = result.script().records();
        for (int i = 0; i < recs.size(); i++) {
          if (recs.get(i).key() != null) lastIndex.put(new String(recs.get(i).key()), i);
        }
        Set<String> scored = new HashSet<>();
        result.output().scoredTrajectories().forEach(t -> scored.add(t.getTrajectoryId()));
        int[] hist = new int[10];
        int lostCount = 0;
        for (var t : result.script().ledger().trajectories().values()) {
          if (t.outcome().isPresent() && !scored.contains(t.trajectoryId())) {
            lostCount++;
            hist[Math.min(9, lastIndex.get(t.trajectoryId()) * 10 / recs.size())]++;
          }
        }
        Map<String, Integer> lostWhy = new HashMap<>();
        Map<String, String> unscoredReason = new HashMap<>();
        result.output().unscored().forEach(u -> unscoredReason.put(u.getTrajectoryId(), u.getReason() + (u.getSteps().isEmpty() ? "(no steps)" : "")));
        for (var t : result.script().ledger().trajectories().values()) {
          if (t.outcome().isPresent() && !scored.contains(t.trajectoryId())) {
            lostWhy.merge(unscoredReason.getOrDefault(t.trajectoryId(), "nowhere"), 1, Integer::sum);
          }
        }
        System.out.println("DIAG lost by where: " + lostWhy);
        Map<String, Integer> allReasons = new HashMap<>();
        result.output().unscored().forEach(u -> allReasons.merge(u.getReason() + "", 1, Integer::sum));
        System.out.println("DIAG unscored reasons: " + allReasons);
        result.output().unscored().stream().filter(u -> !u.getSteps().isEmpty()).limit(3).forEach(u -> System.out.println("DIAG unscored detail " + u.getReason() + " " + u.getDetail()));
        System.out.println("DIAG lost trajectories " + lostCount + " by decile of last record: " + java.util.Arrays.toString(hist));
        try (Admin admin = Admin.create(InputOffsets.adminProperties(conf))) {
          for (TransactionListing t : admin.listTransactions().all().get()) {
            System.out.println("DIAG txn " + t.transactionalId() + " " + t.state() + " pid=" + t.producerId());
          }
        }
        // Uncommitted view of batches: which scored trajectories were written but not committed?
        Set<String> committed = new HashSet<>();
        result.output().scoredTrajectories().forEach(t -> committed.add(t.getTrajectoryId()));
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        Map<String, Integer> uncommittedOnly = new HashMap<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p)) {
          List<TopicPartition> parts = consumer.partitionsFor("credit.batches").stream()
              .map(i -> new TopicPartition(i.topic(), i.partition())).toList();
          consumer.assign(parts);
          consumer.seekToBeginning(parts);
          Map<TopicPartition, Long> ends = consumer.endOffsets(parts);
          long deadline = System.currentTimeMillis() + 20_000;
          while (System.currentTimeMillis() < deadline
              && parts.stream().anyMatch(tp -> consumer.position(tp) < ends.get(tp))) {
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
              TrainingBatch b = TrainingBatch.getDecoder().decode(r.value());
              int missing = 0;
              for (ScoredTrajectory t : b.getTrajectories()) {
                if (!committed.contains(t.getTrajectoryId())) {
                  missing++;
                }
              }
              if (missing > 0) {
                uncommittedOnly.merge("p" + r.partition() + "@" + r.offset() + " created " + b.getCreatedAt(), missing, Integer::sum);
              }
            }
          }
        }
        System.out.println("DIAG batches written but not committed: " + uncommittedOnly);
      }
    }
  }
}
