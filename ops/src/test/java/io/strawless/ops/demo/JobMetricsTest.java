package io.strawless.ops.demo;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MetricOptions;
import org.junit.jupiter.api.Test;

/** Which {@code metrics.reporters} lists let the job's books be read: Flink's reading of the list. */
class JobMetricsTest {

    @Test
    void theBooksAreReportedUnlessTheReporterListLeavesTheirReporterOut() {
        assertTrue(JobMetrics.reportedUnder(new Configuration()), "unset: every configured reporter");
        assertTrue(JobMetrics.reportedUnder(reporters("")), "empty: as unset");
        assertTrue(JobMetrics.reportedUnder(reporters("jmx , strawless-demo")), "named among others");
        assertFalse(JobMetrics.reportedUnder(reporters("jmx")));
        assertFalse(JobMetrics.reportedUnder(reporters("jmx,strawless-demo-2")), "names are matched whole");
    }

    private static Configuration reporters(String list) {
        Configuration conf = new Configuration();
        conf.set(MetricOptions.REPORTERS_LIST, list);
        return conf;
    }
}
