package io.strawless.ops.bench;

import java.io.PrintWriter;

/** Progress lines, each stamped with the seconds since the bench started, flushed at once. */
final class Progress {

    private final PrintWriter out;
    private final long start = System.nanoTime();

    Progress(PrintWriter out) {
        this.out = out;
    }

    void line(String format, Object... args) {
        out.printf("[%6.1fs] " + format + "%n", prepend((System.nanoTime() - start) / 1e9, args));
        out.flush();
    }

    private static Object[] prepend(Object first, Object[] rest) {
        Object[] all = new Object[rest.length + 1];
        all[0] = first;
        System.arraycopy(rest, 0, all, 1, rest.length);
        return all;
    }
}
