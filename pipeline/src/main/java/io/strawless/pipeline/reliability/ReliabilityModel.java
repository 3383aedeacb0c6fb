package io.strawless.pipeline.reliability;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Verifier reliability learnt online, without ground truth: the Dawid-Skene model with binary labels,
 * fitted by EM over a sliding window of the most recent verified steps.
 *
 * <p>The model: each verified step is good or bad, which nobody observes. Verifier v calls a good step good
 * with probability {@code sensitivity[v]} and a bad step bad with probability {@code specificity[v]},
 * independently of the other verifiers given the step's quality. The trajectory's outcome is one more judge
 * of every one of its steps (a success says "good"), with its own sensitivity and specificity: so each
 * verifier is calibrated against the outcomes and against the other verifiers at once, and a verifier that
 * always says "good" comes out as what it is (sensitivity 1, specificity 0). Reported per verifier:
 * its reliability, the balanced accuracy (sensitivity + specificity) / 2, where 0.5 is no better than a
 * coin; and its informativeness, Youden's J = sensitivity + specificity - 1, floored at 0, which is how
 * much more often it calls a good step good than a bad one.
 *
 * <p>Why a window with EM run to convergence rather than stepwise online EM (Cappé and Moulines): on the
 * synthetic fleet, stepwise EM over micro-batches of a few groups kept the soft labels of its early,
 * poorly informed E-steps in its statistics and stayed 0.03 to 0.05 off the true reliabilities, and the
 * error depended on the batch size; EM over the window, warm-started from the previous estimate at every
 * batch, converges in a few iterations to the window's maximum-likelihood estimate (within 0.01 to 0.02 of
 * the truth) whatever the batching, for about a millisecond of CPU per batch.
 *
 * <p>It is Flink keyed state, a POJO of primitive arrays (no Kryo). Each step of the window is two bit
 * masks, which verifiers judged it and which of them said good (bit 63: the trajectory succeeded), so the
 * model tells {@value #MAX_VERIFIERS} verifiers apart at once. Verifier ids come and go (say, one per version of a
 * reward model): a verifier none of whose verdicts is left in the window is forgotten, no longer reported, and its
 * bit goes to the next new verifier. Only while {@value #MAX_VERIFIERS} verifiers all have verdicts in the window
 * are a further verifier's verdicts not learnt (logged once, as a warning): the quarantine then ignores them and
 * the process estimator gives it its configured weight. Not thread-safe.
 */
public class ReliabilityModel {

    public static final int MAX_VERIFIERS = 63;
    private static final Logger LOG = LoggerFactory.getLogger(ReliabilityModel.class);
    /** The table full of verifiers is worth one warning per JVM, not one per step. */
    private static final AtomicBoolean WARNED_FULL = new AtomicBoolean();
    /** Until evidence says otherwise a verifier is taken to be right this often: better than a coin, which
     *  also fixes which of EM's two mirror-image solutions it finds. */
    static final double PRIOR_ACCURACY = 0.7;
    /** Weight of that prior, in steps: enough to keep estimates off 0 and 1, negligible after a batch. */
    private static final double PRIOR_STEPS = 2;
    private static final int OUTCOME_BIT = 63;
    private static final long OUTCOME_MASK = 1L << OUTCOME_BIT;
    private static final int INITIAL_CAPACITY = 256;
    private static final double TOLERANCE = 1e-4;
    private static final int MAX_ITERATIONS = 50;

    /** Verifier ids; a verifier's index is its bit in the masks. */
    public String[] verifiers = new String[0];
    public double[] sensitivity = new double[0];
    public double[] specificity = new double[0];
    public double outcomeSensitivity = PRIOR_ACCURACY;
    public double outcomeSpecificity = PRIOR_ACCURACY;
    /** Prior probability that a verified step is good. */
    public double goodShare = 0.5;
    /** The window, a ring: per step, the verifiers that judged it, as bits. */
    public long[] judged = new long[0];
    /** Per step, the verifiers that said good, as bits; bit 63 when its trajectory succeeded. */
    public long[] saidGood = new long[0];
    /** Steps in the window. */
    public int size;
    /** Where the next step goes. */
    public int next;
    /** Verified steps learnt from since the model started; the window holds the newest of them. */
    public long learnt;

    /**
     * Adds {@code steps} to the window (which keeps the newest {@code window}) and refits the model.
     *
     * @param window at least 1: {@link VerifierReliability} checks {@code reliability.window-steps} once, when the job
     *     is built
     */
    public void learn(List<LabelledStep> steps, int window) {
        if (judged.length > window) {
            resize(window); // the window was made smaller (a restart with another setting)
        }
        // Once no bit can be freed, the rest of this call does not look again (each look reads the whole window);
        // bits that free up as this call's steps push old ones out are reclaimed below, before the fit.
        boolean full = false;
        for (LabelledStep step : steps) {
            Set<String> stepVerifiers = step.saidGood().keySet();
            if (!full && verifiers.length + stepVerifiers.size() > MAX_VERIFIERS && !hasRoomFor(stepVerifiers)) {
                forgetVerifiersOutsideWindow(stepVerifiers); // before any of the step's bits is taken: they move
                full = !hasRoomFor(stepVerifiers);
            }
            long judgedBits = 0;
            long goodBits = step.trajectorySucceeded() ? 1L << OUTCOME_BIT : 0;
            for (Map.Entry<String, Boolean> verdict : step.saidGood().entrySet()) {
                int v = register(verdict.getKey());
                if (v >= 0) {
                    judgedBits |= 1L << v;
                    goodBits |= verdict.getValue() ? 1L << v : 0;
                }
            }
            if (judgedBits != 0) {
                add(judgedBits, goodBits, window);
            }
        }
        forgetVerifiersOutsideWindow(Set.of());
        fit();
    }

    /** Reliability (balanced accuracy) of every verifier the model knows, by id. */
    public SortedMap<String, Double> reliabilities() {
        SortedMap<String, Double> reliabilities = new TreeMap<>();
        for (int v = 0; v < verifiers.length; v++) {
            reliabilities.put(verifiers[v], (sensitivity[v] + specificity[v]) / 2);
        }
        return Collections.unmodifiableSortedMap(reliabilities);
    }

    /** How many of the window's steps each verifier judged, by its index in {@link #verifiers}. */
    public int[] stepsJudged() {
        int[] steps = new int[verifiers.length];
        for (int i = 0; i < size; i++) {
            for (long bits = judged[i]; bits != 0; bits &= bits - 1) {
                steps[Long.numberOfTrailingZeros(bits)]++;
            }
        }
        return steps;
    }

    /** Sensitivity + specificity - 1 of {@code verifier}, at least 0; NaN when the model does not know it. */
    public double informativeness(String verifier) {
        int v = indexOf(verifier);
        return v < 0 ? Double.NaN : Math.max(0, sensitivity[v] + specificity[v] - 1);
    }

    /**
     * The probabilities of one step's verdicts if the step is good and if it is bad, {@code {P(verdicts |
     * good), P(verdicts | bad)}}; verdicts of verifiers the model does not know count as no evidence.
     */
    public double[] likelihoods(Map<String, Boolean> saidGood) {
        double good = 1;
        double bad = 1;
        for (Map.Entry<String, Boolean> verdict : saidGood.entrySet()) {
            int v = indexOf(verdict.getKey());
            if (v >= 0) {
                good *= verdict.getValue() ? sensitivity[v] : 1 - sensitivity[v];
                bad *= verdict.getValue() ? 1 - specificity[v] : specificity[v];
            }
        }
        return new double[] {good, bad};
    }

    /** Whether the model estimates {@code verifier}'s reliability: whether it judged a step of the window. */
    public boolean knows(String verifier) {
        return indexOf(verifier) >= 0;
    }

    private int indexOf(String verifier) {
        for (int v = 0; v < verifiers.length; v++) {
            if (verifiers[v].equals(verifier)) {
                return v;
            }
        }
        return -1;
    }

    /** Whether {@code ids} fit in the table: those it does not know take a bit each. */
    private boolean hasRoomFor(Set<String> ids) {
        int room = MAX_VERIFIERS - verifiers.length;
        for (String id : ids) {
            if (indexOf(id) < 0 && --room < 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * Forgets the verifiers that judged none of the window's steps, but those in {@code keep}: their estimates
     * would be the prior's, not evidence, and their bits are needed by new verifiers. The remaining verifiers'
     * bits close up, in the window's masks too.
     */
    private void forgetVerifiersOutsideWindow(Set<String> keep) {
        long inWindow = 0;
        for (int i = 0; i < size; i++) {
            inWindow |= judged[i];
        }
        int[] newIndex = new int[verifiers.length];
        int kept = 0;
        for (int v = 0; v < verifiers.length; v++) {
            newIndex[v] = (inWindow >>> v & 1) != 0 || keep.contains(verifiers[v]) ? kept++ : -1;
        }
        if (kept == verifiers.length) {
            return;
        }
        String[] keptVerifiers = new String[kept];
        double[] keptSensitivity = new double[kept];
        double[] keptSpecificity = new double[kept];
        for (int v = 0; v < verifiers.length; v++) {
            if (newIndex[v] >= 0) {
                keptVerifiers[newIndex[v]] = verifiers[v];
                keptSensitivity[newIndex[v]] = sensitivity[v];
                keptSpecificity[newIndex[v]] = specificity[v];
            }
        }
        verifiers = keptVerifiers;
        sensitivity = keptSensitivity;
        specificity = keptSpecificity;
        for (int i = 0; i < size; i++) {
            judged[i] = renumber(judged[i], newIndex);
            saidGood[i] = renumber(saidGood[i] & ~OUTCOME_MASK, newIndex) | (saidGood[i] & OUTCOME_MASK);
        }
    }

    /** {@code bits} with bit v moved to {@code newIndex[v]}; no bit set in it may have been forgotten. */
    private static long renumber(long bits, int[] newIndex) {
        long renumbered = 0;
        for (; bits != 0; bits &= bits - 1) {
            renumbered |= 1L << newIndex[Long.numberOfTrailingZeros(bits)];
        }
        return renumbered;
    }

    /**
     * The verifier's index, a new verifier taking the next bit; -1 when all {@value #MAX_VERIFIERS} are taken by
     * verifiers with verdicts in the window.
     */
    private int register(String verifier) {
        int v = indexOf(verifier);
        if (v >= 0) {
            return v;
        }
        if (verifiers.length == MAX_VERIFIERS) {
            if (WARNED_FULL.compareAndSet(false, true)) {
                LOG.warn("The verifier reliability model tells at most {} verifiers apart, and all of them judged steps"
                        + " of its window ({} steps): the verdicts of {}, and of any other new verifier, are not learnt"
                        + " (the quarantine ignores them, the process estimator gives them their configured weight)"
                        + " until all the steps of a known verifier have left the window. Fewer verifier ids at a time,"
                        + " or a smaller {}, avoid it. Logged once.",
                        MAX_VERIFIERS, size, verifier, ReliabilityOptions.WINDOW_STEPS.key());
            }
            return -1;
        }
        verifiers = Arrays.copyOf(verifiers, verifiers.length + 1);
        verifiers[verifiers.length - 1] = verifier;
        sensitivity = Arrays.copyOf(sensitivity, verifiers.length);
        specificity = Arrays.copyOf(specificity, verifiers.length);
        sensitivity[verifiers.length - 1] = PRIOR_ACCURACY;
        specificity[verifiers.length - 1] = PRIOR_ACCURACY;
        return verifiers.length - 1;
    }

    private void add(long judgedBits, long goodBits, int window) {
        // The arrays grow to the window as steps come: a new model holds little.
        if (size == judged.length && judged.length < window) {
            resize(Math.min(window, Math.max(INITIAL_CAPACITY, judged.length * 2)));
        }
        judged[next] = judgedBits;
        saidGood[next] = goodBits;
        next = (next + 1) % judged.length;
        size = Math.min(size + 1, judged.length);
        learnt++;
    }

    /** Lays the window out oldest first in arrays of {@code capacity}, keeping the newest steps that fit. */
    private void resize(int capacity) {
        int keep = Math.min(size, capacity);
        long[] newJudged = new long[capacity];
        long[] newSaidGood = new long[capacity];
        int oldest = judged.length == 0 ? 0 : Math.floorMod(next - size, judged.length);
        for (int i = 0; i < keep; i++) {
            int from = (oldest + size - keep + i) % judged.length;
            newJudged[i] = judged[from];
            newSaidGood[i] = saidGood[from];
        }
        judged = newJudged;
        saidGood = newSaidGood;
        size = keep;
        next = keep % capacity;
    }

    /** EM from the current estimate until no parameter moves by more than the tolerance. */
    private void fit() {
        int n = verifiers.length;
        // The E-step's posterior depends only on a step's two masks, and a window of thousands of steps
        // holds few distinct pairs (at most 3^v * 2 for v verifiers: 162 for four). Every iteration used
        // to recompute exp() for each of the window's steps, at every batch; it now runs over the distinct
        // pairs, each weighted by how many steps have it: the same sums, grouped.
        Patterns patterns = Patterns.of(judged, saidGood, size);
        double[] saysGoodWhenGood = new double[n];
        double[] saysGoodWhenBad = new double[n];
        double[] goodMass = new double[n];
        double[] goodSaidGood = new double[n];
        double[] badMass = new double[n];
        double[] badSaidBad = new double[n];
        for (int iteration = 0; iteration < MAX_ITERATIONS; iteration++) {
            // E-step: the posterior that each step is good, from its verdicts and its trajectory's outcome.
            for (int v = 0; v < n; v++) {
                saysGoodWhenGood[v] = Math.log(sensitivity[v] / (1 - specificity[v]));
                saysGoodWhenBad[v] = Math.log((1 - sensitivity[v]) / specificity[v]);
            }
            double outcomeGood = Math.log(outcomeSensitivity / (1 - outcomeSpecificity));
            double outcomeBad = Math.log((1 - outcomeSensitivity) / outcomeSpecificity);
            double priorLogOdds = Math.log(goodShare / (1 - goodShare));
            Arrays.fill(goodMass, 0);
            Arrays.fill(goodSaidGood, 0);
            Arrays.fill(badMass, 0);
            Arrays.fill(badSaidBad, 0);
            double outcomeGoodMass = 0;
            double outcomeGoodSucceeded = 0;
            double outcomeBadFailed = 0;
            double good = 0;
            for (int p = 0; p < patterns.n; p++) {
                long saysGood = patterns.saidGood[p];
                long judgedBits = patterns.judged[p];
                double steps = patterns.count[p];
                boolean succeeded = (saysGood >>> OUTCOME_BIT & 1) != 0;
                double logOdds = priorLogOdds + (succeeded ? outcomeGood : outcomeBad);
                for (long bits = judgedBits; bits != 0; bits &= bits - 1) {
                    int v = Long.numberOfTrailingZeros(bits);
                    logOdds += (saysGood >>> v & 1) != 0 ? saysGoodWhenGood[v] : saysGoodWhenBad[v];
                }
                double q = 1 / (1 + Math.exp(-logOdds));
                double goodSteps = steps * q;
                double badSteps = steps * (1 - q);
                // M-step statistics: expected counts of each verdict given each quality.
                for (long bits = judgedBits; bits != 0; bits &= bits - 1) {
                    int v = Long.numberOfTrailingZeros(bits);
                    goodMass[v] += goodSteps;
                    badMass[v] += badSteps;
                    if ((saysGood >>> v & 1) != 0) {
                        goodSaidGood[v] += goodSteps;
                    } else {
                        badSaidBad[v] += badSteps;
                    }
                }
                outcomeGoodMass += goodSteps;
                outcomeGoodSucceeded += succeeded ? goodSteps : 0;
                outcomeBadFailed += succeeded ? 0 : badSteps;
                good += goodSteps;
            }
            // M-step, with the prior as a few pseudo-steps.
            double change = 0;
            for (int v = 0; v < n; v++) {
                double newSensitivity = withPrior(goodSaidGood[v], goodMass[v], PRIOR_ACCURACY);
                double newSpecificity = withPrior(badSaidBad[v], badMass[v], PRIOR_ACCURACY);
                change = Math.max(change, Math.max(Math.abs(newSensitivity - sensitivity[v]),
                        Math.abs(newSpecificity - specificity[v])));
                sensitivity[v] = newSensitivity;
                specificity[v] = newSpecificity;
            }
            double newOutcomeSensitivity = withPrior(outcomeGoodSucceeded, outcomeGoodMass, PRIOR_ACCURACY);
            double newOutcomeSpecificity = withPrior(outcomeBadFailed, size - outcomeGoodMass, PRIOR_ACCURACY);
            double newGoodShare = withPrior(good, size, 0.5);
            change = Math.max(change, Math.max(Math.abs(newGoodShare - goodShare),
                    Math.max(Math.abs(newOutcomeSensitivity - outcomeSensitivity),
                            Math.abs(newOutcomeSpecificity - outcomeSpecificity))));
            outcomeSensitivity = newOutcomeSensitivity;
            outcomeSpecificity = newOutcomeSpecificity;
            goodShare = newGoodShare;
            if (change < TOLERANCE) {
                return;
            }
        }
    }

    private static double withPrior(double hits, double trials, double prior) {
        return (hits + PRIOR_STEPS * prior) / (trials + PRIOR_STEPS);
    }

    /** The distinct (judged, said good) mask pairs of a window, in order of first appearance, with counts. */
    private static final class Patterns {
        long[] judged = new long[64];
        long[] saidGood = new long[64];
        int[] count = new int[64];
        int n;
        /** Open addressing: pattern index + 1 per slot, 0 when free; at most half full. */
        private int[] slots = new int[128];

        static Patterns of(long[] judged, long[] saidGood, int size) {
            Patterns patterns = new Patterns();
            for (int i = 0; i < size; i++) {
                patterns.add(judged[i], saidGood[i]);
            }
            return patterns;
        }

        private void add(long j, long g) {
            int mask = slots.length - 1;
            for (int slot = hash(j, g) & mask; ; slot = (slot + 1) & mask) {
                int entry = slots[slot];
                if (entry == 0) {
                    if (n == judged.length) {
                        judged = Arrays.copyOf(judged, n * 2);
                        saidGood = Arrays.copyOf(saidGood, n * 2);
                        count = Arrays.copyOf(count, n * 2);
                    }
                    judged[n] = j;
                    saidGood[n] = g;
                    count[n] = 1;
                    slots[slot] = ++n;
                    if (n * 2 > slots.length) {
                        rehash();
                    }
                    return;
                }
                if (judged[entry - 1] == j && saidGood[entry - 1] == g) {
                    count[entry - 1]++;
                    return;
                }
            }
        }

        private void rehash() {
            slots = new int[slots.length * 2];
            int mask = slots.length - 1;
            for (int p = 0; p < n; p++) {
                int slot = hash(judged[p], saidGood[p]) & mask;
                while (slots[slot] != 0) {
                    slot = (slot + 1) & mask;
                }
                slots[slot] = p + 1;
            }
        }

        private static int hash(long j, long g) {
            long h = (j * 0x9E3779B97F4A7C15L) ^ (g * 0xC2B2AE3D27D4EB4FL);
            return (int) (h ^ (h >>> 29) ^ (h >>> 47));
        }
    }
}
