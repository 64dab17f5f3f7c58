/** Resolves with `onTimeout` once `ms` have passed without `p` settling; the timer does not keep the process alive. */
export function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((resolve) => {
      timer = setTimeout(() => resolve(onTimeout), ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}
