package io.parley.serialization;

/** Marks messages and events that cross the network or reach the journal; bound to jackson-cbor. */
public interface CborSerializable {}
