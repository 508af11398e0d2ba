// The two hooks sse-react.ts uses, typed here so that js/ needs no React to build: React
// is the page's (a peer dependency).
declare module "react" {
  export function useState<S>(initial: S): [S, (next: S | ((previous: S) => S)) => void];
  export function useEffect(effect: () => void | (() => void), deps?: readonly unknown[]): void;
}
