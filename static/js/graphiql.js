// The GraphQL explorer at GET /graphql (a classic script after the React and GraphiQL bundles,
// kept out of the page so that its Content-Security-Policy allows no inline script).
// Queries run as the player logged in on this hub's pages (their access token), if any.
(() => {
  function authHeaders() {
    try {
      const auth = JSON.parse(localStorage.getItem('upstage.auth'));
      return auth && auth.accessToken ? { Authorization: 'Bearer ' + auth.accessToken } : {};
    } catch (err) {
      return {};
    }
  }
  const fetcher = GraphiQL.createFetcher({ url: '/graphql', headers: authHeaders() });
  const root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(React.createElement(GraphiQL, { fetcher, defaultEditorToolsVisibility: true }));
})();
