// anywidget's frontend ships no types for its default export (an AMD factory, exported
// by build.mjs): given @jupyter-widgets/base, it returns the AnyModel and AnyView classes.
declare module "anywidget" {
  const factory: (base: any) => { AnyModel: any; AnyView: any };
  export default factory;
}
