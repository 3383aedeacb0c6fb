package io.strawless.ops.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.connectors.broker.InProcessKafka;
import io.strawless.ops.StrawlessCli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.ParameterTool;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Configurator;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.config.Property;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Kafka security settings reach the clients through the {@code kafka.client.} prefix; their values never
 * reach a log, the console or an error message. Every log event of the test (at INFO, Flink's and Kafka's
 * production level, rather than the tests' WARN) is captured while the command line provisions topics,
 * fails to authenticate, rejects a setting, and runs a whole job with a SASL password set.
 */
class SecretsAreNotLoggedTest {

    private static final String SECRET = "s3cr3t-" + UUID.randomUUID();
    private static final String JAAS = "org.apache.kafka.common.security.plain.PlainLoginModule required"
            + " username=\"trainer\" password=\"" + SECRET + "\";";

    @RegisterExtension
    static final InProcessKafka kafka = new InProcessKafka();

    @Test
    void noSecretReachesTheLogsTheConsoleOrAnErrorMessage() throws Exception {
        List<Run> runs = new ArrayList<>();
        StringBuilder logs = new StringBuilder();
        try (LogCapture capture = new LogCapture(logs)) {
            // The broker speaks PLAINTEXT, so the clients carry the SASL settings (and log their configuration).
            runs.add(strawless(0, "topics", "create", "-D", "kafka.client.sasl.mechanism=PLAIN", "-D",
                    "kafka.client.sasl.jaas.config=" + JAAS));
            // Asked to authenticate, the admin client cannot: the failure is reported.
            runs.add(strawless(1, "topics", "check", "-D", "kafka.admin-timeout=3s",
                    "-D", "kafka.client.security.protocol=SASL_PLAINTEXT", "-D", "kafka.client.sasl.mechanism=PLAIN",
                    "-D", "kafka.client.sasl.jaas.config=" + JAAS));
            // A passthrough key that a dedicated option controls is refused, naming the key only (a usage error).
            runs.add(strawless(2, "topics", "create", "-D", "kafka.client.transactional.id=" + SECRET));
            // A whole job on Flink (a backfill of a minute with one record, a backfill of none stops before its
            // job): source, three exactly-once sinks, admin clients.
            Instant hourAgo = Instant.now().minus(1, ChronoUnit.HOURS);
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(
                    Map.of("bootstrap.servers", kafka.bootstrapServers()), new ByteArraySerializer(),
                    new ByteArraySerializer())) {
                producer.send(new ProducerRecord<>("agent.steps", null, hourAgo.plusSeconds(1).toEpochMilli(),
                        new byte[] {1}, new byte[] {2})).get();
            }
            runs.add(strawless(0, "backfill", "--from", hourAgo.toString(), "--to", hourAgo.plusSeconds(60).toString(),
                    "--output-topic", "secrets.check", "-D", "kafka.client.sasl.mechanism=PLAIN",
                    "-D", "kafka.client.sasl.jaas.config=" + JAAS));
            // The cluster entry point, given the secret in the configuration it runs with (as a program argument
            // it is refused: ClusterJobMainTest).
            Configuration flinkConfiguration = new Configuration();
            flinkConfiguration.setString("kafka.client.sasl.jaas.config", JAAS);
            flinkConfiguration.setString("execution.checkpointing.interval", "10s");
            ClusterJobMain.prepare(StreamExecutionEnvironment.getExecutionEnvironment(flinkConfiguration),
                    ParameterTool.fromArgs(new String[] {"--kafka.bootstrap-servers", kafka.bootstrapServers()})
                            .getConfiguration());
        }

        assertTrue(logs.toString().contains("sasl.jaas.config = [hidden]"),
                "the capture saw the Kafka clients log their configuration");
        assertFalse(logs.toString().contains(SECRET), "a log line holds the secret");
        for (Run run : runs) {
            assertFalse(run.output().contains(SECRET), "the command line printed the secret:\n" + run.output());
        }
    }

    private record Run(String output) {}

    private static Run strawless(int expectedExitCode, String... args) {
        List<String> command = new ArrayList<>(List.of(args));
        command.addAll(List.of("-D", "kafka.bootstrap-servers=" + kafka.bootstrapServers()));
        StringWriter out = new StringWriter();
        int exitCode = StrawlessCli.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(out))
                .execute(command.toArray(String[]::new));
        assertEquals(expectedExitCode, exitCode, out.toString());
        return new Run(out.toString());
    }

    /**
     * Every log event at INFO and above, from every logger, into {@code sink}, until closed; then the
     * test configuration (log4j2-test.properties) is back.
     */
    private static final class LogCapture implements AutoCloseable {
        private final LoggerContext context = (LoggerContext) LogManager.getContext(false);
        private final AbstractAppender appender;

        LogCapture(StringBuilder sink) {
            appender = new AbstractAppender("secrets-capture", null, null, true, Property.EMPTY_ARRAY) {
                @Override
                public void append(LogEvent event) {
                    synchronized (sink) {
                        sink.append(event.getLoggerName()).append(' ')
                                .append(event.getMessage().getFormattedMessage()).append('\n');
                        for (Throwable thrown = event.getThrown(); thrown != null; thrown = thrown.getCause()) {
                            sink.append(thrown).append('\n');
                        }
                    }
                }
            };
            appender.start();
            context.getConfiguration().addAppender(appender);
            for (LoggerConfig logger : context.getConfiguration().getLoggers().values()) {
                logger.addAppender(appender, Level.INFO, null);
            }
            context.getConfiguration().getRootLogger().addAppender(appender, Level.INFO, null);
            Configurator.setAllLevels(LogManager.ROOT_LOGGER_NAME, Level.INFO);
        }

        @Override
        public void close() {
            appender.stop();
            context.reconfigure(); // back to log4j2-test.properties
        }
    }
}
