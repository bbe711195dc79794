/** The clock port: tests pin time through it instead of faking globals. */
export interface Clock {
  nowMs(): number;
}

export const systemClock: Clock = { nowMs: () => Date.now() };

export function fixedClock(ms: number): Clock & { set(ms: number): void; advance(ms: number): void } {
  let now = ms;
  return {
    nowMs: () => now,
    set: (v) => {
      now = v;
    },
    advance: (d) => {
      now += d;
    },
  };
}
