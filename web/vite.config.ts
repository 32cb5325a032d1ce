import { defineConfig } from "vitest/config";

// React without @vitejs/plugin-react: the bundler's automatic JSX runtime is enough (no
// fast refresh, which we do not need). `npm run dev` proxies the API to `veet dev`.
const backend = process.env.VEET_BACKEND ?? "http://127.0.0.1:8080";

export default defineConfig({
  oxc: { jsx: { runtime: "automatic" } },
  server: {
    proxy: {
      "/api": backend,
      "/config.json": backend,
      "/ws": { target: backend.replace(/^http/, "ws"), ws: true },
    },
  },
  build: { target: "es2022", sourcemap: false },
  test: { include: ["test/**/*.test.ts"], environment: "node" },
});
