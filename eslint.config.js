// ESLint (flat config): typescript-eslint's recommended rules (not the type-checked set, so
// `npm run lint` stays fast) for src/, test/ and bench/, and the layer rules of docs/design.md
// ("Layers") as import boundaries for src/ (tests are exempt).
import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import importX from "eslint-plugin-import-x";
import { createNodeResolver } from "eslint-plugin-import-x/node-resolver";
import globals from "globals";
import tseslint from "typescript-eslint";

// Layer → the other layers its files may import (anything else under src/ is refused).
// cli → server → api → app → store/crypto → domain; config is read by cli, server, api, app and store.
// telemetry (metrics, tracing) imports no layer and is recorded into from every layer but domain.
const layers = {
  domain: [],
  config: [],
  telemetry: [],
  crypto: ["domain"],
  store: ["domain", "config", "telemetry"],
  app: ["domain", "store", "crypto", "config", "telemetry"],
  api: ["app", "domain", "crypto", "config", "telemetry"],
  server: ["api", "app", "domain", "store", "crypto", "config", "telemetry"],
  cli: ["server", "api", "app", "domain", "store", "crypto", "config", "telemetry"],
};

const zones = [
  ...Object.entries(layers).map(([layer, allowed]) => ({
    target: `./src/${layer}`,
    from: "./src",
    except: [layer, ...allowed].map((l) => `./${l}`),
    message: `src/${layer} may import only ${[layer, ...allowed].join(", ")} (docs/design.md, Layers).`,
  })),
  // The capability rooms of app/ (users, orgs, oauth, instance) may use app/core, never the reverse.
  {
    target: "./src/app/core",
    from: "./src/app",
    except: ["./core"],
    message: "src/app/core must not import a capability room (app/users, app/orgs, ...).",
  },
];

export default defineConfig(
  { ignores: ["dist/", "coverage/", "node_modules/", "bench/results/"] },

  js.configs.recommended,
  tseslint.configs.recommended,

  {
    languageOptions: { globals: globals.node },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      // A `_`-prefixed parameter keeps a callback's signature without being used.
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      // `catch {}` is how best-effort cleanup (kill, unlink, probe) says "ignore" here.
      "no-empty": ["error", { allowEmptyCatch: true }],
      // `let x; … () => x …; x = await make(…)` is deliberate where a closure needs x before it exists.
      "prefer-const": ["error", { ignoreReadBeforeAssign: true }],
    },
  },

  // The web console (console/): browser code, outside the server's layers; it reaches the server
  // only over the public API (its own tsconfig: preact JSX, DOM types).
  {
    files: ["console/src/**/*.{ts,tsx}"],
    languageOptions: { globals: globals.browser },
  },

  // Tests only.
  {
    files: ["test/**", "src/**/*.test.ts"],
    rules: {
      // `if (done) (clearTimeout(t), resolve(x));` statements are the style of the socket-level tests.
      "@typescript-eslint/no-unused-expressions": "off",
      // Tests rethrow to fail a property with the original stack in the message, not as a cause.
      "preserve-caught-error": "off",
      // The HTTP/1.1 fuzzing builds and strips raw control bytes on purpose.
      "no-control-regex": "off",
    },
  },

  // Layer boundaries, resolved on the real files (`./x.js` specifiers → `./x.ts`).
  {
    files: ["src/**/*.ts"],
    ignores: ["src/**/*.test.ts"],
    plugins: { "import-x": importX },
    settings: {
      "import-x/resolver-next": [
        createNodeResolver({ extensions: [".ts", ".js", ".json"], extensionAlias: { ".js": [".ts", ".js"] } }),
      ],
    },
    rules: {
      "import-x/no-restricted-paths": ["error", { basePath: import.meta.dirname, zones }],
      // A relative import that does not resolve would slip past the boundaries: refuse it.
      "import-x/no-unresolved": ["error", { ignore: ["^[^.]"] }],
    },
  },
  // domain is pure TypeScript: no packages, no node: builtins (Buffer as a global is allowed).
  {
    files: ["src/domain/**/*.ts"],
    ignores: ["src/domain/**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ regex: "^[^.]", message: "src/domain is pure: no packages or node: builtins." }] },
      ],
    },
  },
  // config reads env / YAML / flags: zod, yaml and node: builtins only.
  {
    files: ["src/config/**/*.ts"],
    ignores: ["src/config/**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { regex: "^(?!\\.|node:|zod(/|$)|yaml(/|$))", message: "src/config imports only zod, yaml and node:." },
          ],
        },
      ],
    },
  },
);
