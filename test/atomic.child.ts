/**
 * Writes one file many times with writeFileAtomic, every byte its own value, for test/atomic.test.ts (two of these
 * run at once on the same target). Usage: node -r tsx/cjs atomic.child.ts FILE BYTE TIMES.
 */
import { writeFileAtomic } from "../src/io/atomic";

const [file, byte, times] = process.argv.slice(2);
const bytes = Buffer.alloc(1 << 20, Number(byte));
for (let i = 0; i < Number(times); i++) writeFileAtomic(file, bytes);
