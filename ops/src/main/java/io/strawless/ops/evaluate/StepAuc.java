package io.strawless.ops.evaluate;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * Step-level AUC: the area under the ROC curve of the credit (advantage) as a classifier of good steps,
 * which is the chance that a good step chosen at random gets more credit than a bad one, ties counting
 * half (the Mann-Whitney U statistic over the number of pairs). 1 ranks every good step above every bad
 * one; 0.5 is what one credit for all steps of a trajectory earns within it.
 */
public final class StepAuc {

    private StepAuc() {}

    /** AUC of {@code credit} against {@code good}; NaN when there are no good or no bad steps. */
    public static double of(double[] credit, boolean[] good) {
        if (credit.length != good.length) {
            throw new IllegalArgumentException(credit.length + " credits for " + good.length + " steps");
        }
        Integer[] order = IntStream.range(0, credit.length).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble(i -> credit[i]));
        double goodRankSum = 0;
        long goodSteps = 0;
        for (int from = 0; from < order.length; ) {
            int to = from;
            while (to + 1 < order.length && credit[order[to + 1]] == credit[order[from]]) {
                to++;
            }
            double midRank = (from + to) / 2.0 + 1; // tied credits share the mean of their ranks
            for (int k = from; k <= to; k++) {
                if (good[order[k]]) {
                    goodRankSum += midRank;
                    goodSteps++;
                }
            }
            from = to + 1;
        }
        long badSteps = credit.length - goodSteps;
        if (goodSteps == 0 || badSteps == 0) {
            return Double.NaN;
        }
        return (goodRankSum - goodSteps * (goodSteps + 1) / 2.0) / ((double) goodSteps * badSteps);
    }
}
