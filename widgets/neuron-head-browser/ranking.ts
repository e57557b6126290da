/** Front-end re-export of the shared top-k selection (pure, from the kernel side's logic module). */
export { topIndices } from "../../src/util/topk";
