package io.strawless.pipeline.credit;
import org.apache.flink.configuration.ReadableConfig;
// TEMPORARY STUB (replaced by the credit helper's version)
public record CreditConfig(String estimator) implements java.io.Serializable {
    public static CreditConfig from(ReadableConfig conf) { return new CreditConfig("outcome"); }
    public String fingerprint() { return "outcome-stub"; }
    public boolean groupRelative() { return false; }
}
