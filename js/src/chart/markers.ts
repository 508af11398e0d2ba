// The two markers a series' float64 values carry, which JSON numbers can never be (runs.ts).

/** This event had no value for the series (drawn across). */
export const ABSENT = NaN;
/** A published null or NaN: the line breaks. */
export const GAP = -Infinity;
