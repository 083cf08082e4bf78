package io.parley.bench;

import java.util.concurrent.atomic.AtomicLong;

/** One one-to-one bench conversation: both clients send to each other and both must see every seq. */
final class BenchConversation {
  private final String id;
  private final BenchClient creator;
  private final BenchClient invitee;
  /** The highest seq the server acknowledged to either sender; seq 1 is the creation. */
  private final AtomicLong highestAcked = new AtomicLong(1);

  BenchConversation(String id, BenchClient creator, BenchClient invitee) {
    this.id = id;
    this.creator = creator;
    this.invitee = invitee;
    creator.join(this, invitee);
    invitee.join(this, creator);
  }

  String id() {
    return id;
  }

  BenchClient creator() {
    return creator;
  }

  BenchClient invitee() {
    return invitee;
  }

  void acked(long seq) {
    highestAcked.accumulateAndGet(seq, Math::max);
  }

  /** Both devices have seen the creation (seq 1), so both are live in the conversation. */
  boolean bothJoined() {
    return creator.lastSeq(id) >= 1 && invitee.lastSeq(id) >= 1;
  }

  /** Acknowledged seqs that a device of the conversation has not received (yet). */
  long missing() {
    long acked = highestAcked.get();
    return Math.max(0, acked - creator.lastSeq(id)) + Math.max(0, acked - invitee.lastSeq(id));
  }
}
