package io.pgvigil.activity;

import static io.pgvigil.activity.LockChains.Holder.backend;
import static io.pgvigil.activity.LockChains.Holder.prepared;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.pgvigil.activity.LockChains.Chain;
import io.pgvigil.activity.LockChains.Holder;

/**
 * The wait-for graph on its own, without a server: waiters and what {@code pg_blocking_pids()} said
 * each waits for. The shapes a real server gives are in LockWaitMatrixTest; here the ones a poll
 * catches rarely: cycles, several roots, a long queue on one table lock, holders that let go.
 */
class LockChainsTest {

    @Test
    void aThreeDeepChainHasOneRootBlockingTwoAtDepthTwo() {
        // A (1) holds a row; B (2) waits on A; C (3) waits on a row B holds.
        LockChains chains = new LockChains(Map.of(backend(2), List.of(backend(1)), backend(3), List.of(backend(2))));
        assertThat(chains.chains()).containsExactly(
                new Chain(backend(1), Set.of(backend(2)), Set.of(backend(2), backend(3)), 2));
        assertThat(chains.chains().get(0).blockedDirectly()).isEqualTo(1);
        assertThat(chains.chains().get(0).blockedInTotal()).isEqualTo(2);
        assertThat(chains.inCycle()).isEmpty();
        assertThat(chains.holderGone()).isEmpty();
    }

    @Test
    void severalRootsAreOrderedByHowManyTheyBlock() {
        Map<Holder, List<Holder>> waitsFor = new LinkedHashMap<>();
        waitsFor.put(backend(11), List.of(backend(10)));
        waitsFor.put(backend(21), List.of(backend(20)));
        waitsFor.put(backend(22), List.of(backend(20)));
        waitsFor.put(backend(23), List.of(backend(22)));
        LockChains chains = new LockChains(waitsFor);
        assertThat(chains.chains()).extracting(Chain::root, Chain::blockedDirectly, Chain::blockedInTotal, Chain::depth)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple(backend(20), 2, 3, 2),
                        org.assertj.core.groups.Tuple.tuple(backend(10), 1, 1, 1));
    }

    @Test
    void aWaiterBlockedByTwoRootsCountsForEach() {
        // Two sessions hold the table in share mode; a third wants it exclusively.
        LockChains chains = new LockChains(Map.of(backend(3), List.of(backend(1), backend(2))));
        assertThat(chains.chains()).extracting(Chain::root).containsExactly(backend(1), backend(2));
        assertThat(chains.chains()).allSatisfy(c -> {
            assertThat(c.blocked()).containsExactly(backend(3));
            assertThat(c.depth()).isEqualTo(1);
        });
    }

    @Test
    void aDeadlockInProgressIsACycleWithoutRoot() {
        LockChains chains = new LockChains(Map.of(backend(1), List.of(backend(2)), backend(2), List.of(backend(1))));
        assertThat(chains.chains()).isEmpty();
        assertThat(chains.inCycle()).containsExactlyInAnyOrder(backend(1), backend(2));
    }

    @Test
    void aWaiterWhoseLockWasJustGrantedHeadsTheChainOfThoseWaitingOnIt() {
        // A queue's handoff as the poll sees it: 2's lock was granted (pg_blocking_pids() is empty), 3 still
        // waits on 2. 2 now holds what 3 waits for: a chain of one, not a deadlock.
        LockChains chains = new LockChains(Map.of(backend(2), List.of(), backend(3), List.of(backend(2))));
        assertThat(chains.chains()).singleElement().satisfies(c -> {
            assertThat(c.root()).isEqualTo(backend(2));
            assertThat(c.blocked()).containsExactly(backend(3));
        });
        assertThat(chains.inCycle()).isEmpty();
        assertThat(chains.holderGone()).isEmpty();
    }

    @Test
    void aCycleBehindARootIsCountedOnceAndDoesNotLoop() {
        // 2 waits on the root 1 and on 3 (ahead of it in a queue); 3 waits on 2: a cycle below the root.
        LockChains chains = new LockChains(Map.of(backend(2), List.of(backend(1), backend(3)),
                backend(3), List.of(backend(2)), backend(4), List.of(backend(3))));
        assertThat(chains.chains()).singleElement().satisfies(c -> {
            assertThat(c.root()).isEqualTo(backend(1));
            assertThat(c.blocked()).containsExactlyInAnyOrder(backend(2), backend(3), backend(4));
            assertThat(c.depth()).isEqualTo(3); // 1 ← 2 ← 3 ← 4, the wait 3 → 2 closing the cycle not followed
        });
        assertThat(chains.inCycle()).isEmpty();
    }

    /**
     * A table lock held by one session and 200 sessions queued for it in conflicting modes: each
     * waits on the holder and on every one ahead of it (pg_blocking_pids() reports soft blockers),
     * 2^200 paths, answered at once.
     */
    @Test
    void aLongQueueOnOneTableLockIsOneChainAsDeepAsTheQueue() {
        Map<Holder, List<Holder>> waitsFor = new LinkedHashMap<>();
        List<Holder> ahead = new ArrayList<>(List.of(backend(1)));
        for (int pid = 2; pid <= 201; pid++) {
            waitsFor.put(backend(pid), List.copyOf(ahead));
            ahead.add(backend(pid));
        }
        long start = System.nanoTime();
        LockChains chains = new LockChains(waitsFor);
        assertThat((System.nanoTime() - start) / 1e9).isLessThan(1.0);
        assertThat(chains.chains()).singleElement().satisfies(c -> {
            assertThat(c.root()).isEqualTo(backend(1));
            assertThat(c.blockedDirectly()).isEqualTo(200);
            assertThat(c.blockedInTotal()).isEqualTo(200);
            assertThat(c.depth()).isEqualTo(200);
        });
    }

    @Test
    void preparedTransactionsAreRootsByGid() {
        LockChains chains = new LockChains(Map.of(backend(5), List.of(prepared("batch-7")),
                backend(6), List.of(prepared("batch-7"), prepared("batch-8")), backend(7), List.of(prepared(null))));
        assertThat(chains.chains()).extracting(Chain::root, Chain::blockedInTotal).containsExactly(
                org.assertj.core.groups.Tuple.tuple(prepared("batch-7"), 2),
                org.assertj.core.groups.Tuple.tuple(prepared("batch-8"), 1),
                org.assertj.core.groups.Tuple.tuple(prepared(null), 1));
        assertThat(prepared("batch-7")).hasToString("prepared transaction 'batch-7'");
        assertThat(prepared(null)).hasToString("a prepared transaction");
    }

    @Test
    void aWaiterWhoseLockWasJustGrantedHasNoChain() {
        LockChains chains = new LockChains(Map.of(backend(9), List.of()));
        assertThat(chains.chains()).isEmpty();
        assertThat(chains.inCycle()).isEmpty();
        assertThat(chains.holderGone()).containsExactly(backend(9));
    }

    @Test
    void aHolderListedTwiceCountsOnce() {
        // Parallel query: pg_blocking_pids() lists a leader once per worker holding the lock.
        LockChains chains = new LockChains(Map.of(backend(2), List.of(backend(1), backend(1))));
        assertThat(chains.waitsFor(backend(2))).containsExactly(backend(1));
        assertThat(chains.chains()).singleElement().satisfies(c -> assertThat(c.blockedDirectly()).isEqualTo(1));
    }
}
