// The React client's build and its local server. The client talks only to the gateway: at
// VITE_API_URL when set (a deployed gateway, which must then allow this origin), else at /api
// on its own origin, which this server forwards to GATEWAY_URL (the local gateway). Every other
// address that is no file of the build (/sales/…, /orders, /admin) is answered with the app's
// index.html (appType 'spa'), so that a shared link, a refresh or a bookmark opens its page.
import { defineConfig } from 'vite';

const gateway = process.env.GATEWAY_URL ?? 'http://localhost:8080';
const proxy = {
  '/api': { target: gateway, changeOrigin: true, rewrite: (path: string) => path.replace(/^\/api/, '') },
};

export default defineConfig({
  appType: 'spa',
  esbuild: { jsx: 'automatic' },
  server: { port: Number(process.env.WEB_PORT ?? 5173), strictPort: true, proxy },
  preview: { port: Number(process.env.WEB_PORT ?? 5173), strictPort: true, proxy },
  build: {
    rollupOptions: {
      // react-router marks its modules "use client" for server components; a client bundle has no use for it.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
  test: { environment: 'node', include: ['src/**/*.test.ts'] },
});
