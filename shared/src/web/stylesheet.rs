//! The pages' own stylesheet. Branding (`branding.rs`) appends the colour and any extra CSS
//! and hashes the whole for the CSP (security rule 12); the templates inline it.

pub const CSS: &str = "\
:root{color-scheme:light dark;font-family:system-ui,sans-serif;line-height:1.5}\
body{margin:0;display:flex;justify-content:center}\
main{max-width:28rem;width:100%;padding:2rem 1.25rem}\
h1{font-size:1.5rem;margin:0 0 1rem}\
label{display:block;margin-top:1rem;font-weight:600}\
input[type=text],input[type=password]{display:block;width:100%;box-sizing:border-box;padding:.6rem;margin-top:.25rem;font-size:1rem}\
fieldset{border:1px solid #8886;border-radius:.5rem;padding:.5rem 1rem 1rem}\
legend{font-weight:600;padding:0 .25rem}\
.scope{display:flex;gap:.6rem;align-items:flex-start;margin-top:.6rem}\
.scope label{margin:0;font-weight:400}\
.scope input{margin-top:.35rem;width:1.1rem;height:1.1rem}\
code{font-size:.85em;opacity:.75}\
button{margin-top:1.25rem;padding:.6rem 1.2rem;font-size:1rem;border-radius:.4rem;border:2px solid #1a56db;background:#1a56db;color:#fff;cursor:pointer}\
button.secondary{background:transparent;color:inherit;border-color:#888}\
button:focus-visible,input:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}\
.actions{display:flex;gap:.75rem;flex-wrap:wrap}\
.error{border-left:4px solid #c81e1e;padding:.5rem .75rem;background:#c81e1e1a}\
.hint{font-size:.9rem;opacity:.8}\
.notice{border-left:4px solid #1a56db;padding:.5rem .75rem;background:#1a56db1a}\
ul.apps{list-style:none;padding:0}\
li.app{border:1px solid #8886;border-radius:.5rem;padding:.25rem 1rem 1rem;margin-top:1rem}\
li.app h2{font-size:1.15rem}\
header.brand{display:flex;gap:.5rem;align-items:center;font-weight:600;margin-bottom:1rem}\
.client-head{display:flex;gap:.75rem;align-items:center}\
.client-logo{border-radius:.5rem;object-fit:contain}\
footer{margin-top:2rem}footer a{margin-right:1rem}";
