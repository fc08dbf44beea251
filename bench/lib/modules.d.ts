// Packages the bench uses that ship no type declarations; only what the bench touches.

declare module "autocannon" {
  interface Options {
    url: string;
    method?: string;
    headers?: Record<string, string>;
    connections?: number;
    pipelining?: number;
    duration?: number;
    timeout?: number;
    requests?: { method?: string; onResponse?: (status: number, body: string) => void }[];
    setupClient?: (client: any) => void;
  }
  interface Result {
    duration: number;
    errors: number;
    timeouts: number;
  }
  function autocannon(options: Options): Promise<Result>;
  export default autocannon;
}

declare module "oidc-provider" {
  const Provider: any;
  export default Provider;
}
