export default {
  async fetch(request: Request, env: { ORIGIN_URL?: string }): Promise<Response> {
    const url = new URL(request.url);
    const target = env.ORIGIN_URL ? new URL(url.pathname + url.search, env.ORIGIN_URL) : url;
    return fetch(new Request(target, request));
  },
};
