/**
 * Enforces the protoc-gen-validate (PGV) `validate.rules` options embedded in
 * the ZITADEL descriptors, reproducing the text of the Go PGV `Validate()`
 * methods ZITADEL generates (first violation only). Rule templates referenced
 * in this folder are envoyproxy/protoc-gen-validate `templates/goshared` and
 * `templates/go`.
 */
import type { DescMessage, Message } from "@bufbuild/protobuf";
import { compiledFor, runMessage } from "./compile.js";
import { Fatal, type Fields } from "./model.js";

/** The first violation of `msg` against its descriptor's `validate.rules`, in Go PGV's words; undefined when valid. */
export function validateMessage(schema: DescMessage, msg: Message): string | undefined {
  const outcome = runMessage(compiledFor(schema), msg as unknown as Fields, 0);
  return outcome instanceof Fatal ? outcome.text : outcome;
}
