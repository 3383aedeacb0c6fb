package io.strawless.pipeline.credit;
import java.util.ArrayList;
import java.util.List;
// TEMPORARY STUB (replaced by the credit helper's version)
public final class CreditScorer implements AutoCloseable {
    public CreditScorer(CreditConfig config) {}
    public List<Credit> score(List<Trajectory> batch) {
        List<Credit> out = new ArrayList<>();
        for (Trajectory t : batch) {
            double b = Double.isNaN(t.baseline()) ? 0 : t.baseline();
            double[] adv = new double[t.steps().size()], ret = new double[t.steps().size()];
            for (int i = 0; i < adv.length; i++) { adv[i] = t.steps().get(i).trainable() ? t.outcome() - b : 0; ret[i] = t.outcome(); }
            out.add(new Credit(t.id(), adv, ret));
        }
        return out;
    }
    public String backend() { return "java"; }
    public void close() {}
}
