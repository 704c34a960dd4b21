app/main.js
