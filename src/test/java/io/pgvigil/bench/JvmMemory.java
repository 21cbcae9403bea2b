package io.pgvigil.bench;

import java.lang.management.ManagementFactory;

import com.sun.management.ThreadMXBean;

/** What the benchmarks read of the JVM's own memory. */
final class JvmMemory {

    private JvmMemory() {
    }

    /** Bytes this thread has allocated so far (HotSpot). */
    static long allocated() {
        return ((ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    /** The heap in use after three requested collections: what is retained, give or take the GC's noise. */
    static long heap() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
