// Vite builds the page into dist/, which `betterprompts serve` answers at /.
// `npm run dev` serves it with hot reload and sends /api to a running
// `make run` (BP_API_URL, default http://127.0.0.1:8080).
import { defineConfig } from "vitest/config";

export default defineConfig({
  // TSX is compiled by esbuild with the automatic JSX runtime (tsconfig "jsx").
  build: {
    outDir: "dist",
    assetsDir: "assets",
    sourcemap: false,
    // The page's budget is 200 KB of gzipped JavaScript; warn well before.
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: { "/api": process.env.BP_API_URL ?? "http://127.0.0.1:8080" },
  },
  test: {
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
    environment: "node",
  },
});
