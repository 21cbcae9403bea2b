package io.pgvigil.activity;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.pgvigil.activity.StatActivityCollector.Activity;
import io.pgvigil.activity.StatActivityCollector.Backend;

/**
 * Who blocks whom, from what {@code pg_blocking_pids()} said of each backend waiting on a lock: the
 * wait-for graph of one poll, and its chains. Pure: no database, no clock.
 *
 * <p>A <b>root blocker</b> is a holder at the head of a chain that is not itself waiting on a lock:
 * a backend (an idle-in-transaction session, a long statement, an autovacuum worker) or a prepared
 * transaction, which {@code pg_blocking_pids()} reports as pid 0 and the collector names by gid. For
 * each root: how many waiters it blocks directly, how many in total (transitively, each counted
 * once), and the depth of its chain (the longest run of waits down from it: A ← B ← C is 2).
 * Waiters that no root leads to wait on each other in a cycle, a deadlock in progress (PostgreSQL's
 * deadlock detector ends one of them after {@code deadlock_timeout}), or waited on a holder that had
 * just let go when the poll looked.
 */
public final class LockChains {

    /** What a waiter waits for: a backend by pid, or a prepared transaction by gid (null when unknown). */
    public record Holder(int pid, String gid) implements Comparable<Holder> {

        public static Holder backend(int pid) {
            return new Holder(pid, null);
        }

        public static Holder prepared(String gid) {
            return new Holder(0, gid);
        }

        public boolean isPrepared() {
            return pid == 0;
        }

        @Override
        public int compareTo(Holder o) {
            if (isPrepared() != o.isPrepared()) {
                return isPrepared() ? 1 : -1;
            }
            return isPrepared() ? String.valueOf(gid).compareTo(String.valueOf(o.gid)) : Integer.compare(pid, o.pid);
        }

        @Override
        public String toString() {
            return isPrepared() ? gid == null ? "a prepared transaction" : "prepared transaction '" + gid + "'"
                    : "pid " + pid;
        }
    }

    /**
     * One root blocker and what waits behind it.
     *
     * @param direct  the waiters it blocks directly
     * @param blocked every waiter it blocks, directly or not
     * @param depth   the longest run of waits down from the root (1: only direct waiters)
     */
    public record Chain(Holder root, Set<Holder> direct, Set<Holder> blocked, int depth) {

        public Chain {
            direct = Set.copyOf(direct);
            blocked = Set.copyOf(blocked);
        }

        public int blockedDirectly() {
            return direct.size();
        }

        public int blockedInTotal() {
            return blocked.size();
        }
    }

    private final Map<Holder, List<Holder>> waitsFor;
    private final List<Chain> chains;
    private final Set<Holder> inCycle;
    private final Set<Holder> holderGone;

    /**
     * @param waitsFor each waiting backend and what it waits for, as {@code pg_blocking_pids()} gave it
     *                 (an empty list when the lock was granted as the poll looked)
     */
    public LockChains(Map<Holder, List<Holder>> waitsFor) {
        this.waitsFor = new LinkedHashMap<>();
        waitsFor.forEach((waiter, holders) -> this.waitsFor.put(waiter, List.copyOf(new LinkedHashSet<>(holders))));
        Map<Holder, Set<Holder>> blocks = new HashMap<>();
        this.waitsFor.forEach((waiter, holders) -> holders
                .forEach(h -> blocks.computeIfAbsent(h, k -> new LinkedHashSet<>()).add(waiter)));

        Set<Holder> reached = new HashSet<>();
        Map<Holder, Integer> depthBelow = new HashMap<>();
        List<Chain> found = new ArrayList<>();
        for (Holder root : blocks.keySet()) {
            if (!this.waitsFor.getOrDefault(root, List.of()).isEmpty()) {
                continue; // waiting itself: not the head of a chain
            }
            // (A waiter whose lock was granted as the poll looked waits for nobody: it now holds what
            // its own waiters wait for, so it heads their chain; without this a queue's handoff read as
            // a cycle, a deadlock that is not there.)
            Set<Holder> blocked = reachable(root, blocks);
            reached.addAll(blocked);
            found.add(new Chain(root, blocks.get(root), blocked, depth(root, blocks, depthBelow, new HashSet<>())));
        }
        found.sort(Comparator.comparingInt(Chain::blockedInTotal).reversed()
                .thenComparing(Comparator.comparingInt(Chain::depth).reversed())
                .thenComparing(Chain::root));
        this.chains = List.copyOf(found);

        Set<Holder> cycle = new LinkedHashSet<>();
        Set<Holder> gone = new LinkedHashSet<>();
        this.waitsFor.forEach((waiter, holders) -> {
            if (!reached.contains(waiter) && !(holders.isEmpty() && blocks.containsKey(waiter))) {
                (holders.isEmpty() ? gone : cycle).add(waiter);
            }
        });
        this.inCycle = Set.copyOf(cycle);
        this.holderGone = Set.copyOf(gone);
    }

    /** The chains of every backend of a poll, client or not, that waits on a lock. */
    public static LockChains of(Activity activity) {
        Map<Holder, List<Holder>> waitsFor = new LinkedHashMap<>();
        List<Backend> all = new ArrayList<>(activity.backends());
        all.addAll(activity.otherBackends());
        for (Backend b : all) {
            if (b.blockedBy() == null) {
                continue;
            }
            List<Holder> holders = new ArrayList<>();
            boolean prepared = false;
            for (int pid : b.blockedBy()) {
                if (pid == 0) {
                    prepared = true;
                } else {
                    holders.add(Holder.backend(pid));
                }
            }
            if (prepared) {
                List<String> gids = b.blockedByPrepared() == null ? List.of() : b.blockedByPrepared();
                // The prepared transaction may have ended between pg_blocking_pids() and pg_locks.
                gids.forEach(gid -> holders.add(Holder.prepared(gid)));
                if (gids.isEmpty()) {
                    holders.add(Holder.prepared(null));
                }
            }
            waitsFor.put(Holder.backend(b.pid()), holders);
        }
        return new LockChains(waitsFor);
    }

    /** The root blockers' chains, the one blocking most first (then the deepest, then by pid). */
    public List<Chain> chains() {
        return chains;
    }

    /** Every waiter. */
    public Set<Holder> waiters() {
        return waitsFor.keySet();
    }

    /** Waiters that no root leads to although they wait on someone: a cycle, a deadlock in progress. */
    public Set<Holder> inCycle() {
        return inCycle;
    }

    /** Waiters whose blockers had let go when the poll looked ({@code pg_blocking_pids()} was empty). */
    public Set<Holder> holderGone() {
        return holderGone;
    }

    /** What {@code waiter} waits for directly. */
    public List<Holder> waitsFor(Holder waiter) {
        return waitsFor.getOrDefault(waiter, List.of());
    }

    private static Set<Holder> reachable(Holder root, Map<Holder, Set<Holder>> blocks) {
        Set<Holder> seen = new LinkedHashSet<>();
        Deque<Holder> todo = new ArrayDeque<>(blocks.getOrDefault(root, Set.of()));
        while (!todo.isEmpty()) {
            Holder h = todo.poll();
            if (!h.equals(root) && seen.add(h)) {
                todo.addAll(blocks.getOrDefault(h, Set.of()));
            }
        }
        return seen;
    }

    /**
     * The longest run of waits below {@code holder}. Memoized: a queue of n sessions on one table lock
     * has each waiting on every one ahead of it, and unmemoized that is 2^n paths. A wait that closes
     * a cycle (a waiter already on the current path) is not followed.
     */
    private static int depth(Holder holder, Map<Holder, Set<Holder>> blocks, Map<Holder, Integer> memo,
            Set<Holder> onPath) {
        Integer known = memo.get(holder);
        if (known != null) {
            return known;
        }
        onPath.add(holder);
        int deepest = 0;
        for (Holder waiter : blocks.getOrDefault(holder, Set.of())) {
            if (!onPath.contains(waiter)) {
                deepest = Math.max(deepest, 1 + depth(waiter, blocks, memo, onPath));
            }
        }
        onPath.remove(holder);
        memo.put(holder, deepest);
        return deepest;
    }
}
