app/vendor/x.js
