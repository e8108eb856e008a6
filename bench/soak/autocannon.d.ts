// The part of autocannon's API the soak uses (the package ships no types).
declare module 'autocannon' {
  interface AutocannonOptions {
    url: string;
    method?: string;
    connections?: number;
    amount?: number;
    duration?: number;
    timeout?: number;
    headers?: Record<string, string>;
    body?: string;
  }
  interface Instance {
    on(event: 'response', listener: (client: unknown, statusCode: number) => void): Instance;
    on(event: 'reqError', listener: (error: Error) => void): Instance;
    on(event: 'done', listener: () => void): Instance;
    stop(): void;
  }
  function autocannon(options: AutocannonOptions): Instance;
  export default autocannon;
}
