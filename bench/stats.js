'use strict';
/** Tiny statistics for benchmarks that compare two things measured in the same run, interleaved. */
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** The q-quantile (0…1) of xs, nearest rank. */
const percentile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
};

/** Runs a() and b() alternately `rounds` times after `warmup` rounds; returns their median times in ms. */
const interleave = async (a, b, { rounds = 60, warmup = 5 } = {}) => {
  const ta = [];
  const tb = [];
  for (let i = 0; i < warmup + rounds; i += 1) {
    const first = i % 2 ? [a, ta] : [b, tb];
    const second = i % 2 ? [b, tb] : [a, ta];
    for (const [fn, out] of [first, second]) {
      const t0 = process.hrtime.bigint();
      await fn(i);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (i >= warmup) out.push(ms);
    }
  }
  return { a: median(ta), b: median(tb) };
};

module.exports = { median, percentile, interleave };
