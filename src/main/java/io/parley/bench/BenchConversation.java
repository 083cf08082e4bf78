package io.parley.bench;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One bench conversation: its first member creates it with the others, every member sends to all the
 * others, and every member's device must see every seq (as a frame, or as the ack of its own send).
 */
final class BenchConversation {
  private final String id;
  private final List<BenchClient> members;
  /** The highest seq the server acknowledged to any sender; seq 1 is the creation. */
  private final AtomicLong highestAcked = new AtomicLong(1);

  BenchConversation(String id, List<BenchClient> members) {
    this.id = id;
    this.members = List.copyOf(members);
    members.forEach(member -> member.join(this));
  }

  String id() {
    return id;
  }

  List<BenchClient> members() {
    return members;
  }

  BenchClient creator() {
    return members.get(0);
  }

  /** The one other member of a one-to-one conversation. */
  BenchClient invitee() {
    return members.get(1);
  }

  void acked(long seq) {
    highestAcked.accumulateAndGet(seq, Math::max);
  }

  /** Every member's device has seen the creation (seq 1), so all are live in the conversation. */
  boolean allJoined() {
    return members.stream().allMatch(m -> m.check().highestSeen(id) >= 1);
  }

  /** Acknowledged seqs that a member's device has not seen (yet). */
  long missing() {
    long acked = highestAcked.get();
    return members.stream().mapToLong(m -> m.check().unseen(id, acked)).sum();
  }
}
