package io.strawless.ops.evaluate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class StepAucTest {

    @Test
    void perfectReversedAndTiedRankings() {
        boolean[] good = {false, false, true, true};
        assertEquals(1.0, StepAuc.of(new double[] {0.1, 0.2, 0.3, 0.4}, good));
        assertEquals(0.0, StepAuc.of(new double[] {0.4, 0.3, 0.2, 0.1}, good));
        assertEquals(0.5, StepAuc.of(new double[] {1, 1, 1, 1}, good), "one credit for every step tells nothing");
    }

    @Test
    void tiesCountHalf() {
        // Pairs (good, bad): (0.5, 0.2) win, (0.5, 0.5) tie, (0.9, 0.2) win, (0.9, 0.5) win: 3.5 of 4.
        assertEquals(3.5 / 4, StepAuc.of(new double[] {0.2, 0.5, 0.5, 0.9}, new boolean[] {false, false, true, true}));
    }

    @Test
    void isUndefinedWithoutGoodOrWithoutBadSteps() {
        assertTrue(Double.isNaN(StepAuc.of(new double[] {1, 2}, new boolean[] {true, true})));
        assertTrue(Double.isNaN(StepAuc.of(new double[] {}, new boolean[] {})));
    }

    @Test
    void agreesWithCountingEveryPair() {
        Random random = new Random(3);
        double[] credit = new double[400];
        boolean[] good = new boolean[400];
        for (int i = 0; i < credit.length; i++) {
            good[i] = random.nextBoolean();
            credit[i] = Math.round((good[i] ? 0.4 : 0) + random.nextGaussian() * 4) / 4.0; // coarse: many ties
        }
        double wins = 0;
        long pairs = 0;
        for (int g = 0; g < credit.length; g++) {
            for (int b = 0; b < credit.length; b++) {
                if (good[g] && !good[b]) {
                    pairs++;
                    wins += credit[g] > credit[b] ? 1 : credit[g] == credit[b] ? 0.5 : 0;
                }
            }
        }
        assertEquals(wins / pairs, StepAuc.of(credit, good), 1e-12);
    }
}
