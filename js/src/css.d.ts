// CSS imports are bundled by esbuild into <name>.css beside each widget module.
declare module "*.css";
