import pino, { type DestinationStream, type Logger } from "pino";
import type { Config } from "../config/schema.js";

export type LogFormat = "json" | "pretty";

/** `auto` is pretty on a terminal and JSON everywhere else (pipes, files, log collectors). */
export function resolveLogFormat(format: Config["logFormat"], stdoutIsTTY: boolean): LogFormat {
  if (format === "auto") return stdoutIsTTY ? "pretty" : "json";
  return format;
}

export function createLogger(
  config: Pick<Config, "logLevel"> & Partial<Pick<Config, "logFormat">>,
  out: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout,
): Logger {
  const format = resolveLogFormat(config.logFormat ?? "auto", out.isTTY === true);
  const options: pino.LoggerOptions = {
    level: config.logLevel,
    base: { service: "portcullis" },
    // Defence in depth: these never belong in a log line, wherever they appear.
    redact: {
      paths: ["authorization", "*.authorization", "headers.authorization", "*.headers.authorization", "clientSecret", "*.clientSecret", "token", "*.token", "client_secret", "*.client_secret", "password", "*.password"],
      censor: "[redacted]",
    },
  };
  if (format === "json") return out === process.stdout ? pino(options) : pino(options, out as DestinationStream);
  return pino(options, prettyStream(out, { color: out.isTTY === true && !process.env.NO_COLOR }));
}

/**
 * A pino destination that turns each JSON line into one line for people, in this thread: every write
 * goes straight to `out` (synchronous for terminals, files and pipes on Linux), so nothing is left to
 * flush at exit, unlike a transport's worker thread.
 */
export function prettyStream(out: NodeJS.WritableStream, opts: { color: boolean }): DestinationStream {
  return {
    write(line: string) {
      out.write(formatPretty(line, opts.color));
    },
  };
}

const LEVELS: Record<number, [label: string, color: string]> = {
  10: ["TRACE", "\x1b[90m"],
  20: ["DEBUG", "\x1b[36m"],
  30: ["INFO ", "\x1b[32m"],
  40: ["WARN ", "\x1b[33m"],
  50: ["ERROR", "\x1b[31m"],
  60: ["FATAL", "\x1b[35m"],
};
const RESET = "\x1b[0m";
const DIM = "\x1b[2m";
/** Fields every line has, or that the line's head already shows. */
const HIDDEN = new Set(["level", "time", "msg", "service", "pid", "hostname", "err"]);

const pad = (n: number, w = 2) => String(n).padStart(w, "0");
const clockTime = (ms: number) => {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
};
const fieldValue = (v: unknown) => (typeof v === "string" ? (/^[^\s"=]+$/.test(v) ? v : JSON.stringify(v)) : JSON.stringify(v));

/** `12:04:05.120 INFO  portcullis ready port=8080 storage=pglite:/data`; an error's stack follows, indented. */
export function formatPretty(line: string, color = false): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith("\n") ? line : line + "\n";
  }
  const [label, tint] = LEVELS[Number(entry.level)] ?? [String(entry.level).toUpperCase().padEnd(5), ""];
  const fields = Object.entries(entry)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${k}=${fieldValue(v)}`)
    .join(" ");
  const time = typeof entry.time === "number" ? clockTime(entry.time) : "";
  const head = color ? `${DIM}${time}${RESET} ${tint}${label}${RESET}` : `${time} ${label}`;
  let text = `${head} ${String(entry.msg ?? "")}${fields ? (color ? ` ${DIM}${fields}${RESET}` : ` ${fields}`) : ""}\n`;
  const err = entry.err as { type?: string; message?: string; stack?: string } | undefined;
  if (err && typeof err === "object") {
    const detail = err.stack ?? `${err.type ?? "Error"}: ${err.message ?? ""}`;
    text += detail
      .split("\n")
      .map((l) => `    ${l}\n`)
      .join("");
  }
  return text;
}
